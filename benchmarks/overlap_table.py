"""An overlap-ratio sweep's kept runs in RecGURU's Table 3 layout: per domain and
metric, a row per ratio, a column per model, mean ± std over seeds.

    for r in 0.1 0.3 0.5 0.75; do
        tfxdr bench --models recguru,recguru_single --dataset ml-1m --domains Drama,Comedy \\
            --overlap-ratio $r --seeds 0 --out docs/results/runs/recguru_ml1m_overlap/ratio-$r
    done
    python benchmarks/overlap_table.py docs/results/runs/recguru_ml1m_overlap \\
        recguru recguru_single

Reads SWEEP/ratio-R/LABEL/seed-N/metrics.json. First prints each ratio's data
(users per domain and users in both, as ``tfxdr data describe --overlap-ratio R
--seed S`` counts them for the runs' data settings and first seed), then the
metric tables. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tfxdr.data import describe, with_overlap_ratio
from tfxdr.experiment import DataConfig, load_interactions
from tfxdr.report import TABLE_LEGEND, read_kept_runs, setting_rows_table

METRICS = ("hr@10", "ndcg@10", "full_hr@10", "full_ndcg@10")


def ratio_dirs(sweep: Path) -> dict[str, Path]:
    """``ratio-R`` directories by ratio, in increasing order."""
    found = {path.name.removeprefix("ratio-"): path for path in sweep.glob("ratio-*")}
    if not found:
        raise SystemExit(f"{sweep}: no ratio-R directories")
    return dict(sorted(found.items(), key=lambda item: float(item[0])))


def data_table(sweep: Path, label: str) -> str:
    """Users per domain and users in both domains at each ratio."""
    rows = []
    for ratio, path in ratio_dirs(sweep).items():
        config = json.loads(min((path / label).glob("seed-*/config.json")).read_text())
        data = DataConfig(**{**config["data"], "domains": tuple(config["data"]["domains"])})
        report = describe(with_overlap_ratio(load_interactions(data, quiet=True),
                                             data.overlap_ratio, config["seed"]))
        users = [report["domains"][domain]["users"] for domain in data.domains]
        rows.append(f"| {ratio} | " + " | ".join(map(str, users))
                    + f" | {report['overlap_users']} |")
    header = "| overlap ratio | " + " | ".join(f"{d} users" for d in data.domains) \
        + " | users in both |"
    return "\n".join([header, "|---|" + "---|" * (len(data.domains) + 1), *rows])


def tables(sweep: Path, labels: list[str], metrics=METRICS) -> str:
    reports = {ratio: read_kept_runs(path, labels) for ratio, path in ratio_dirs(sweep).items()}
    first = next(iter(reports.values()))
    keys = list(dict.fromkeys(key for report in first for key in report["metrics"]))
    seeds = sorted({report["seed"] for runs in reports.values() for report in runs})
    parts = [f"Seeds {', '.join(map(str, seeds))}; {TABLE_LEGEND}"]
    for key in keys:
        for metric in metrics:
            parts += [f"{key}, {metric}:", setting_rows_table(reports, key, metric,
                                                            "overlap ratio")]
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("labels", nargs="+")
    parser.add_argument("--metrics", default=",".join(METRICS),
                        help=f"comma-separated (default {','.join(METRICS)})")
    args = parser.parse_args()
    print(data_table(args.sweep, args.labels[0]))
    print()
    print(tables(args.sweep, args.labels, tuple(args.metrics.split(","))))


if __name__ == "__main__":
    main()
