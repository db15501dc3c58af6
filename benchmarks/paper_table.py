"""A bench's kept runs in a paper's layout: per domain, a row per metric, a column per
model, mean ± std over seeds (the paper's Table 2 for RecGURU).

    python benchmarks/paper_table.py docs/results/runs/recguru_ml1m \
        pop_seq bprmf sasrec bert4rec recguru_single recguru

Reads BENCH/LABEL/seed-N/metrics.json; the runs' domains give the tables. Prints
Markdown: the sampled protocol's metrics, then full ranking's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tfxdr.report import metric_rows_table

SAMPLED = ("hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20")
FULL = tuple(f"full_{metric}" for metric in SAMPLED)


def read_runs(bench: Path, labels: list[str]) -> list[dict]:
    """Every finished run of the labels, each report labelled as the bench labels it."""
    reports = []
    for label in labels:
        runs = sorted((bench / label).glob("seed-*/metrics.json"))
        if not runs:
            raise SystemExit(f"{bench / label}: no finished seed-N runs")
        reports += [{**json.loads(path.read_text()), "label": label} for path in runs]
    return reports


def tables(bench: Path, labels: list[str]) -> str:
    reports = read_runs(bench, labels)
    keys = list(dict.fromkeys(key for report in reports for key in report["metrics"]))
    seeds = sorted({report["seed"] for report in reports})
    parts = [f"Seeds {', '.join(map(str, seeds))}; test split; mean ± sample std; the best "
             "mean of each row in bold."]
    for title, metrics in (("Against 200 popularity-sampled negatives", SAMPLED),
                           ("Full ranking over the domain's items", FULL)):
        parts.append(f"{title}:")
        parts += [metric_rows_table(reports, key, metrics) for key in keys]
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("labels", nargs="+")
    args = parser.parse_args()
    print(tables(args.bench, args.labels))


if __name__ == "__main__":
    main()
