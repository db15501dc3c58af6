"""Validation selection score by trained epoch, mean over a bench's seeds, per label.

    python benchmarks/validation_by_epoch.py docs/results/runs/recguru_ml1m recguru sasrec

Reads each run's history.csv under BENCH/LABEL/seed-N. Rows count validated epochs
only (a phased model's first validated epoch is its first fine-tuning epoch), so
labels line up by the epochs spent on the validated objective. Prints Markdown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def validated_scores(run_dir: Path) -> np.ndarray:
    history = pd.read_csv(run_dir / "history.csv")
    return history["val_selection"].dropna().to_numpy()


def by_epoch(bench: Path, label: str) -> list[np.ndarray]:
    """Per seed, the selection score of each validated epoch."""
    runs = sorted((bench / label).glob("seed-*"))
    if not runs:
        raise SystemExit(f"{bench / label}: no seed-N runs")
    return [validated_scores(run) for run in runs]


def table(bench: Path, labels: list[str]) -> str:
    scores = {label: by_epoch(bench, label) for label in labels}
    rows = max(len(s) for per_seed in scores.values() for s in per_seed)
    lines = ["| validated epoch | " + " | ".join(
        f"{label} ({len(scores[label])} seed{'s' * (len(scores[label]) > 1)})"
        for label in labels) + " |",
        "|---|" + "---|" * len(labels)]
    for epoch in range(rows):
        cells = []
        for label in labels:
            values = [s[epoch] for s in scores[label] if len(s) > epoch]
            cells.append(f"{np.mean(values):.4f}" if len(values) == len(scores[label]) else "")
        lines.append(f"| {epoch + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("labels", nargs="+")
    args = parser.parse_args()
    print(table(args.bench, args.labels))


if __name__ == "__main__":
    main()
