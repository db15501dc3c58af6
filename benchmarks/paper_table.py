"""A bench's kept runs in a paper's layout: per domain, a row per metric, a column per
model, mean ± std over seeds (RecGURU's Table 2, AFT's Tables 3 and 4).

    python benchmarks/paper_table.py docs/results/runs/recguru_ml1m \
        pop_seq bprmf sasrec bert4rec recguru_single recguru
    python benchmarks/paper_table.py docs/results/runs/aft_ml1m aft_d aft \
        --metrics recall@20,recall@50,recall@200 --metrics auc

Reads BENCH/LABEL/seed-N/metrics.json; the runs' domains give the tables. Prints
Markdown, a group of tables per ``--metrics`` list (default: the sequence task's
sampled protocol, then full ranking).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tfxdr.report import TABLE_LEGEND, metric_rows_table, read_kept_runs

SAMPLED = ("hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20")
FULL = tuple(f"full_{metric}" for metric in SAMPLED)


def seeds_line(reports: list[dict]) -> str:
    """``Seeds 0, 1, 2``, or each label's seeds where they differ."""
    seeds: dict[str, list[int]] = {}
    for report in reports:
        seeds.setdefault(report["label"], []).append(report["seed"])
    runs = {label: ", ".join(map(str, sorted(s))) for label, s in seeds.items()}
    if len(set(runs.values())) == 1:
        return f"Seeds {next(iter(runs.values()))}"
    return "Seeds " + "; ".join(f"{label} {shown}" for label, shown in runs.items())


def tables(bench: Path, labels: list[str],
           groups: list[tuple[str, tuple[str, ...]]] | None = None) -> str:
    reports = read_kept_runs(bench, labels)
    keys = list(dict.fromkeys(key for report in reports for key in report["metrics"]))
    parts = [f"{seeds_line(reports)}; {TABLE_LEGEND}"]
    for title, metrics in groups or (("Against 200 popularity-sampled negatives", SAMPLED),
                                     ("Full ranking over the domain's items", FULL)):
        parts.append(f"{title}:")
        parts += [metric_rows_table(reports, key, metrics) for key in keys]
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("labels", nargs="+")
    parser.add_argument("--metrics", action="append", help="comma-separated metrics of one "
                        "group of tables (repeat for several groups)")
    args = parser.parse_args()
    groups = [(f"Metrics {text}", tuple(text.split(","))) for text in args.metrics or ()]
    print(tables(args.bench, args.labels, groups))


if __name__ == "__main__":
    main()
