"""Summaries of several runs: mean +- std per model, key and metric, as Markdown.

Runs of different models with the same seed share the same split (the split
depends only on the data and the seed), so the per-seed differences between two
models are paired; :func:`paired_differences` reports their mean and a paired
t statistic.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np


def read_kept_runs(bench: Path, labels: Sequence[str]) -> list[dict]:
    """The ``metrics.json`` of every finished ``BENCH/LABEL/seed-N`` run, each labelled as
    the bench labels it.

    Raises:
        SystemExit: a label with no finished run.
    """
    reports = []
    for label in labels:
        runs = sorted((Path(bench) / label).glob("seed-*/metrics.json"))
        if not runs:
            raise SystemExit(f"{Path(bench) / label}: no finished seed-N runs")
        reports += [{**json.loads(path.read_text()), "label": label} for path in runs]
    return reports


def collect(reports: Iterable[dict]) -> dict[str, dict[str, dict[str, dict[int, float]]]]:
    """``label -> key -> metric -> {seed: value}``; the label defaults to the model name."""
    table: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for report in reports:
        for key, values in report["metrics"].items():
            for metric, value in values.items():
                table[report.get("label", report["model"])][key][metric][report["seed"]] = \
                    float(value)
    return table


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return float(array.mean()), std


TABLE_LEGEND = ("test split; mean ± sample std (a single seed's value alone); the best mean "
                "of each row in bold.")


def stat_cell(values: Sequence[float], bold: bool = False) -> str:
    """``mean ± sample std`` of several seeds; a single seed's value alone (it has no
    spread to show, and ``± 0`` would claim one)."""
    mean, std = mean_std(values)
    text = f"{mean:.4f} ± {std:.4f}" if len(values) > 1 else f"{mean:.4f}"
    return f"**{text}**" if bold else text


def paired_differences(a: dict[int, float], b: dict[int, float]) -> dict[str, float]:
    """Mean of ``a - b`` over shared seeds and the paired t statistic."""
    seeds = sorted(set(a) & set(b))
    diffs = np.array([a[s] - b[s] for s in seeds])
    mean, std = mean_std(diffs)
    t = mean / (std / math.sqrt(len(diffs))) if len(diffs) > 1 and std > 0 else float("nan")
    return {"mean_difference": mean, "t": t, "seeds": len(seeds)}


def markdown_table(reports: Sequence[dict], metrics: Sequence[str],
                   settings: Mapping[str, str] | None = None) -> str:
    """One row per model and key; cells ``mean +- std`` over seeds.  ``settings``
    (label -> how its settings were chosen) adds a column after the model's."""
    table = collect(reports)
    head = ["model", *(["settings"] if settings is not None else []), "key", "seeds"]
    lines = ["| " + " | ".join([*head, *metrics]) + " |",
             "|" + "---|" * (len(head) + len(metrics))]
    for model, keys in table.items():
        first = [model, *([settings[model]] if settings is not None else [])]
        for key, by_metric in keys.items():
            cells = []
            for metric in metrics:
                mean, std = mean_std(list(by_metric[metric].values()))
                cells.append(f"{mean:.4f} ± {std:.4f}")
            seeds = len(next(iter(by_metric.values())))
            lines.append("| " + " | ".join([*first, key, str(seeds), *cells]) + " |")
    return "\n".join(lines)


def metric_rows_table(reports: Sequence[dict], key: str, metrics: Sequence[str]) -> str:
    """A paper's layout for one key (a domain): a row per metric, a column per model,
    cells ``mean ± std`` over seeds (see :func:`stat_cell`), the row's best mean in bold."""
    table = collect(reports)
    models = [model for model in table if key in table[model]]
    lines = [f"| {key} | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for metric in metrics:
        values = [list(table[model][key][metric].values()) for model in models]
        best = max(np.mean(v) for v in values)
        cells = [stat_cell(v, bold=np.mean(v) == best) for v in values]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def setting_rows_table(reports_by_setting: Mapping[str, Sequence[dict]], key: str,
                       metric: str, setting: str) -> str:
    """One metric of one key (a domain) across settings of a sweep: a row per setting,
    a column per model, cells ``mean ± std`` over seeds, each row's best mean in bold."""
    tables = {name: collect(reports) for name, reports in reports_by_setting.items()}
    models = list(dict.fromkeys(model for table in tables.values() for model in table))
    lines = [f"| {setting} | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for name, table in tables.items():
        values = [list(table[model][key][metric].values()) if model in table else None
                  for model in models]
        best = max(np.mean(v) for v in values if v is not None)
        cells = ["" if v is None else stat_cell(v, bold=np.mean(v) == best) for v in values]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timing_table(reports: Sequence[dict]) -> str:
    """Training seconds and examples/s per model, mean +- std over seeds."""
    by_model: dict[str, list[dict]] = defaultdict(list)
    for report in reports:
        by_model[report.get("label", report["model"])].append(report)
    lines = ["| model | epochs run | train seconds | examples/s |", "|---|---|---|---|"]
    for model, runs in by_model.items():
        epochs = mean_std([r["epochs_run"] for r in runs])
        seconds = mean_std([r["train_seconds"] for r in runs])
        speed = mean_std([r["examples_per_second"] for r in runs])
        lines.append(f"| {model} | {epochs[0]:.0f} | {seconds[0]:.1f} ± {seconds[1]:.1f} | "
                     f"{speed[0]:.0f} ± {speed[1]:.0f} |")
    return "\n".join(lines)


def pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'tfxdr[plots]'") from None
    return plt


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Mean of each value and the ``window - 1`` before it (fewer at the start)."""
    array = np.asarray(values, dtype=float)
    totals = np.cumsum(np.concatenate([[0.0], array]))
    ends = np.arange(1, len(array) + 1)
    starts = np.maximum(ends - window, 0)
    return (totals[ends] - totals[starts]) / (ends - starts)


def loss_curve_plot(steps, columns: Sequence[str], path, window: int = 50) -> None:
    """Loss terms of a run's ``steps.csv`` (a DataFrame) over training steps, smoothed."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(columns), figsize=(4 * len(columns), 3.4),
                                squeeze=False)
    for axis, column in zip(axes[0], columns):
        axis.plot(steps["step"], steps[column], color="0.8", linewidth=0.6, label="per step")
        axis.plot(steps["step"], moving_average(steps[column], window), color="tab:red",
                  label=f"mean of {window} steps")
        for boundary in steps.loc[steps["epoch"].diff() > 0, "step"]:
            axis.axvline(boundary, color="0.6", linestyle=":", linewidth=0.8)
        axis.set_title(column)
        axis.set_xlabel("training step")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def recall_curve_plot(reports: Sequence[dict], path, metric: str = "recall") -> None:
    """Mean ``metric@K`` against K per model, one panel per direction (D2D-TM Figure 4)."""
    plt = pyplot()
    table = collect(reports)
    keys = list(next(iter(table.values())))
    figure, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    for axis, key in zip(axes[0], keys):
        for label, by_key in table.items():
            ks = sorted(int(m.split("@")[1]) for m in by_key[key] if m.startswith(f"{metric}@"))
            means = [mean_std(list(by_key[key][f"{metric}@{k}"].values())) for k in ks]
            axis.errorbar(ks, [m for m, _ in means], yerr=[s for _, s in means], marker="o",
                          capsize=3, label=label)
        axis.set_title(key)
        axis.set_xlabel("K")
        axis.set_ylabel(f"{metric}@K")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def section_markers(name: str) -> tuple[str, str]:
    """The comment lines that delimit a generated section of a results page."""
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


def has_section(page: str, name: str) -> bool:
    """Whether ``page`` holds section ``name``'s begin marker, then its end marker."""
    begin, end = section_markers(name)
    return begin in page and end in page.partition(begin)[2]


def replace_section(page: str, name: str, text: str, where: str = "the page") -> str:
    """``page`` with its section ``name`` replaced by ``text`` (the prose around it
    kept); ``where`` names the page in the error.

    Raises:
        ValueError: the page has no such section.
    """
    begin, end = section_markers(name)
    if not has_section(page, name):
        raise ValueError(f"{where}: has no {begin} ... {end} section to replace")
    head, _, rest = page.partition(begin)
    return f"{head}{begin}\n{text.rstrip()}\n{end}{rest.partition(end)[2]}"
