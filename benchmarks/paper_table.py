"""A bench's kept runs in a paper's layout: per domain, a row per metric, a column per
model, mean ± std over seeds (the paper's Table 2 for RecGURU).

    python benchmarks/paper_table.py docs/results/runs/recguru_ml1m \
        pop_seq bprmf sasrec bert4rec recguru_single recguru

Reads BENCH/LABEL/seed-N/metrics.json; the runs' domains give the tables. Prints
Markdown: the sampled protocol's metrics, then full ranking's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tfxdr.report import metric_rows_table, read_kept_runs

SAMPLED = ("hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20")
FULL = tuple(f"full_{metric}" for metric in SAMPLED)


def tables(bench: Path, labels: list[str]) -> str:
    reports = read_kept_runs(bench, labels)
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
