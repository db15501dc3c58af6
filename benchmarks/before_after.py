"""Before/after tables of two benches of the same models and seeds on the same splits.

Each bench directory is ``tfxdr bench``'s output (``LABEL/seed-N/metrics.json``).
Runs with the same seed share the split, so for every label, key (direction or
domain) and metric the table gives the mean ± std over seeds before and after,
and the mean of the per-seed differences (after - before) with its paired t.

Usage::

    python benchmarks/before_after.py runs/before-ctr-100k runs/after-ctr-100k --metric auc
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tfxdr.report import mean_std, paired_differences
from tfxdr.rundir import METRICS_FILE, read_json


def collect(bench: Path, metric: str) -> dict[str, dict[str, dict[int, float]]]:
    """``label -> key -> {seed: value}`` of one metric in a bench directory."""
    out: dict = {}
    for path in sorted(Path(bench).glob(f"*/seed-*/{METRICS_FILE}")):
        report = read_json(path)
        label = path.parent.parent.name
        for key, values in report["metrics"].items():
            if metric in values:
                out.setdefault(label, {}).setdefault(key, {})[int(report["seed"])] = \
                    float(values[metric])
    if not out:
        raise SystemExit(f"{bench}: no finished runs with metric {metric!r}")
    return out


def table(before: dict, after: dict, metric: str) -> str:
    lines = [f"| model | key | seeds | {metric} before | {metric} after | after - before |",
             "|---|---|---|---|---|---|"]
    for label, keys in after.items():
        for key, values in keys.items():
            old = before.get(label, {}).get(key, {})
            shared = sorted(set(old) & set(values))
            if not shared:
                continue
            b = mean_std([old[s] for s in shared])
            a = mean_std([values[s] for s in shared])
            diff = paired_differences({s: values[s] for s in shared},
                                      {s: old[s] for s in shared})
            lines.append(f"| {label} | {key} | {len(shared)} | {b[0]:.4f} ± {b[1]:.4f} | "
                         f"{a[0]:.4f} ± {a[1]:.4f} | {diff['mean_difference']:+.4f} "
                         f"(t = {diff['t']:.2f}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--metric", default="auc")
    args = parser.parse_args(argv)
    print(table(collect(Path(args.before), args.metric), collect(Path(args.after), args.metric),
                args.metric))


if __name__ == "__main__":
    main()
