"""Test metrics of a domain's users grouped by how many items they had in it.

    python benchmarks/by_history.py docs/results/runs/recguru_ml1m_action_horror Horror \
        recguru recguru_single sasrec

Loads each finished run BENCH/LABEL/seed-N with its model (runs read back from
metrics alone cannot be re-scored: train them again), keeps the test users of
DOMAIN whose number of distinct earlier items in that domain falls in each group,
and scores them under both protocols against the run's saved negatives. Prints,
per group, the users and each label's mean over seeds, with the paired
difference of the first label against each other one.  Where cross-domain
knowledge helps, it should help most the users with the fewest items.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tfxdr.errors import RunDirError  # noqa: E402
from tfxdr.experiment import load_run  # noqa: E402

METRICS = ("hr@10", "full_ndcg@10")


def groups(edges: list[int]) -> list[tuple[int, float]]:
    """``[0, 5, 10]`` -> ``[(0, 0), (1, 5), (6, 10), (11, inf)]``: inclusive bounds."""
    lows = [0, *(e + 1 for e in edges)]
    return list(zip(lows, [*edges, np.inf]))


def group_name(low: int, high: float) -> str:
    if high == np.inf:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


def scores_by_group(run_dir: Path, domain: str, bounds) -> list[tuple[int, dict]]:
    """Per group: its users and the test metrics of ``domain`` on them."""
    run = load_run(run_dir)
    if domain not in run.domains:
        raise RunDirError(f"{run_dir}: has no domain {domain!r} (its domains: "
                          f"{', '.join(run.domains)})")
    held = run.prepared.held_out["test"][domain]
    counts = np.array([len(items) for items in held.seen])
    out = []
    for low, high in bounds:
        keep = (counts >= low) & (counts <= high)
        metrics = run.task.evaluate(run.model, run.prepared.held_out_rows(
            "test", domain, keep), "test").get(domain, {}) if keep.any() else {}
        out.append((int(keep.sum()), metrics))
    return out


def table(bench: Path, domain: str, labels: list[str], bounds) -> str:
    results = {}
    for label in labels:
        runs = sorted((bench / label).glob("seed-*"))
        if not runs:
            raise SystemExit(f"{bench / label}: no seed-N runs")
        results[label] = {run.name: scores_by_group(run, domain, bounds) for run in runs}
    seeds = sorted(set.intersection(*(set(r) for r in results.values())))
    head = ["items before", "users", *(f"{label} {m}" for label in labels for m in METRICS),
            *(f"{labels[0]} - {other} {m}" for other in labels[1:] for m in METRICS)]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for g, (low, high) in enumerate(bounds):
        users = results[labels[0]][seeds[0]][g][0]
        if not users:
            continue

        def values(label, metric):
            return np.array([results[label][s][g][1][metric] for s in seeds])

        cells = [group_name(low, high), str(users)]
        cells += [f"{values(label, m).mean():.4f}" for label in labels for m in METRICS]
        cells += [f"{(values(labels[0], m) - values(other, m)).mean():+.4f}"
                  for other in labels[1:] for m in METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return (f"{domain} test users by distinct earlier {domain} items; mean over seeds "
            f"{', '.join(s.removeprefix('seed-') for s in seeds)}.\n\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("domain")
    parser.add_argument("labels", nargs="+")
    parser.add_argument("--edges", default="0,2,5,10,20,50",
                        help="upper bounds of the groups but the last (default 0,2,5,10,20,50: "
                             "users new to the domain first)")
    args = parser.parse_args()
    try:
        edges = [int(e) for e in args.edges.split(",")]
    except ValueError:
        edges = []
    if not edges or edges != sorted(set(edges)) or edges[0] < 0:
        parser.error(f"--edges {args.edges!r}: expected increasing integers >= 0, "
                     "e.g. 0,5,10,20,50")
    try:
        print(table(args.bench, args.domain, args.labels, groups(edges)))
    except RunDirError as error:  # a missing, unfinished or foreign run: one line
        parser.error(str(error))


if __name__ == "__main__":
    main()
