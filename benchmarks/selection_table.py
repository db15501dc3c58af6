"""A tuning grid's runs side by side, and each model's choice on validation.

    python benchmarks/selection_table.py docs/results/runs/aft_ml1m_grid \
        two_tower=two_tower_lr1,two_tower_lr3 fm=fm_lr1,fm_lr3

Each argument after the bench is MODEL=LABEL,LABEL,...: the settings tried for
one model.  Reads BENCH/LABEL/seed-N/config.json and metrics.json; prints one
row per label and seed (learning rate, epochs run, best epoch, the validation
selection score at the best epoch, a test metric) with the setting of best mean
validation score marked.  Test is shown, never used.  ``--seeds 0`` compares the
settings on the same seeds when the chosen one has since been run on more.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from tfxdr.report import read_kept_runs
from tfxdr.tasks.matching import MEAN


def read_runs(bench: Path, label: str) -> list[dict]:
    """The label's finished runs, each with its resolved ``config.json``."""
    return [{**report, "config": json.loads(
        (bench / label / f"seed-{report['seed']}" / "config.json").read_text())}
        for report in read_kept_runs(bench, [label])]


def table(bench: Path, groups: dict[str, list[str]], key: str = MEAN,
          metric: str = "recall@50", seeds: set[int] | None = None) -> str:
    lines = ["| model | setting | seed | learning rate | epochs run | best epoch | "
             f"validation score | test {metric} ({key}) |", "|---|---|---|---|---|---|---|---|"]
    for model, labels in groups.items():
        runs = {label: [run for run in read_runs(bench, label)
                        if seeds is None or run["seed"] in seeds] for label in labels}
        chosen = max((label for label in labels if runs[label]), key=lambda label: np.mean(
            [run["validation"]["selection_score"] for run in runs[label]]))
        for label in labels:
            for run in runs[label]:
                test = run["metrics"][key][metric]
                mark = "**" if label == chosen else ""
                lines.append(
                    f"| {model} | {mark}{label}{mark} | {run['seed']} | "
                    f"{run['config']['config']['learning_rate']:g} | {run['epochs_run']} | "
                    f"{run['validation']['best_epoch']} | "
                    f"{mark}{run['validation']['selection_score']:.4f}{mark} | {test:.4f} |")
    return "\n".join(lines)


def parse_group(text: str) -> tuple[str, list[str]]:
    model, sep, labels = text.partition("=")
    if not sep or not labels:
        raise argparse.ArgumentTypeError(f"{text!r}: expected MODEL=LABEL,LABEL,...")
    return model, labels.split(",")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("groups", nargs="+", type=parse_group, metavar="MODEL=LABEL,LABEL")
    parser.add_argument("--key", default=MEAN, help=f"metrics key of the test column "
                        f"(default: {MEAN!r})")
    parser.add_argument("--metric", default="recall@50", help="test column's metric")
    parser.add_argument("--seeds", type=lambda text: {int(s) for s in text.split(",")},
                        help="only these seeds' runs (default: all)")
    args = parser.parse_args(argv)
    print(table(args.bench, dict(args.groups), args.key, args.metric, args.seeds))


if __name__ == "__main__":
    main()
