"""DAAN's comparison (paper Tables 2-3) and target-fraction sweep (Table 4) from benches.

    python benchmarks/cnan_at_tables.py COMPARISON_DIR... [--sweep SWEEP_DIR]

COMPARISON_DIR is a ``tfxdr bench`` output (several are merged, e.g. one per
seed) with the labels ``srconly`` (dcn,
train_domains=source), ``self`` (dcn, train_domains=target), ``finetune``,
``dann``, ``cnan1``, ``cnan2`` and ``cnan_at``; SWEEP_DIR one with
``self_F`` and ``cnan_at_F`` for target fractions F < 1 (F = 1 is read from
COMPARISON_DIR).  Prints Markdown: test AUC mean +- std over seeds per domain,
paired differences of CNAN-AT against each baseline, and the sweep with
CNAN-AT's relative improvement over Self-train.

As in the paper, the Self-train row reads each domain from the model trained
on that domain alone: the source column from ``srconly``, the target column
from ``self``.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

from tfxdr.report import mean_std, paired_differences
from tfxdr.rundir import METRICS_FILE, read_json

ROWS = (("Src-only", "srconly"), ("Self-train", None), ("FineTune", "finetune"),
        ("DANN", "dann"), ("CNAN1", "cnan1"), ("CNAN2", "cnan2"), ("CNAN-AT", "cnan_at"))


def load(benches: list[Path], label: str) -> dict[int, dict]:
    """``seed -> metrics.json`` of one label over benches."""
    runs = {}
    for bench in benches:
        for path in sorted(bench.glob(f"{label}/seed-*/{METRICS_FILE}")):
            report = read_json(path)
            runs[report["seed"]] = report
    return runs


def aucs(runs: dict[int, dict], domain: str) -> dict[int, float]:
    return {seed: r["metrics"][domain]["auc"] for seed, r in runs.items()}


def cell(values: dict[int, float]) -> str:
    if not values:
        return "–"
    mean, std = mean_std(list(values.values()))
    return f"{mean:.4f} ± {std:.4f}" if len(values) > 1 else f"{mean:.4f}"


def difference(mine: dict[int, float], theirs: dict[int, float]) -> str:
    """Mean paired difference, with its t statistic where it is defined."""
    d = paired_differences(mine, theirs)
    t = f" (t = {d['t']:.1f})" if math.isfinite(d["t"]) else ""
    return f"{d['mean_difference']:+.4f}{t}"


def comparison(bench: list[Path]) -> tuple[str, tuple[str, str]]:
    """The Tables 2-3 analogue and the domains (source, target)."""
    cnan = load(bench, "cnan_at")
    if not cnan:
        raise SystemExit(f"{', '.join(map(str, bench))}: no cnan_at runs")
    source, target = next(iter(cnan.values()))["domains"]
    per_row = {}
    for name, label in ROWS:
        if label is None:
            per_row[name] = (aucs(load(bench, "srconly"), source),
                             aucs(load(bench, "self"), target))
        else:
            runs = load(bench, label)
            per_row[name] = (aucs(runs, source), aucs(runs, target))
    seeds = sorted(cnan)
    lines = [f"Test AUC (mean ± std over seeds; CNAN-AT ran seeds "
             f"{', '.join(map(str, seeds))}); source {source}, target {target}.", "",
             f"| model | seeds | {source} (source) | {target} (target) | "
             f"CNAN-AT − model, {source} | CNAN-AT − model, {target} |",
             "|---|---|---|---|---|---|"]
    for name, (src, tgt) in per_row.items():
        diffs = []
        for mine, theirs in ((per_row["CNAN-AT"][0], src), (per_row["CNAN-AT"][1], tgt)):
            if name == "CNAN-AT" or not theirs:
                diffs.append("")
                continue
            diffs.append(difference(mine, theirs))
        seeds_run = len(set(src) | set(tgt))
        lines.append(f"| {name} | {seeds_run} | {cell(src)} | {cell(tgt)} | {diffs[0]} | "
                     f"{diffs[1]} |")
    return "\n".join(lines), (source, target)


def sweep(bench: list[Path], sweep_dir: Path, target: str) -> str:
    """Table 4: Self-train and CNAN-AT target AUC per fraction, and the improvement."""
    if not sweep_dir.is_dir():
        raise SystemExit(f"{sweep_dir}: no such bench directory")
    fractions = sorted({float(m.group(1)) for p in sweep_dir.iterdir()
                        if (m := re.fullmatch(r"cnan_at_([0-9.]+)", p.name))})
    columns = [(f, [sweep_dir], f"self_{f:g}", f"cnan_at_{f:g}") for f in fractions]
    columns.append((1.0, bench, "self", "cnan_at"))
    header = "| target data | " + " | ".join(f"{f:.0%}" for f, *_ in columns) + " |"
    rows = {"Self-train": [], "CNAN-AT": [], "Improvement": [], "CNAN-AT − Self-train": []}
    for _, where, self_label, cnan_label in columns:
        own, cnan = aucs(load(where, self_label), target), aucs(load(where, cnan_label), target)
        rows["Self-train"].append(cell(own))
        rows["CNAN-AT"].append(cell(cnan))
        if own and cnan:
            own_mean, cnan_mean = mean_std(list(own.values()))[0], mean_std(list(cnan.values()))[0]
            rows["Improvement"].append(f"{(cnan_mean - own_mean) / own_mean:+.1%}")
            rows["CNAN-AT − Self-train"].append(difference(cnan, own))
        else:
            rows["Improvement"].append("–")
            rows["CNAN-AT − Self-train"].append("–")
    lines = [f"Test AUC on {target} by share of its training data kept.", "", header,
             "|---|" + "---|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in rows.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path, nargs="+")
    parser.add_argument("--sweep", type=Path)
    args = parser.parse_args()
    table, (_, target) = comparison(args.bench)
    print(table)
    if args.sweep:
        print()
        print(sweep(args.bench, args.sweep, target))


if __name__ == "__main__":
    main()
