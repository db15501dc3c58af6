"""Train / evaluate runs: data -> split -> model -> selection -> test, saved to a run dir.

A run directory holds everything needed to reproduce or re-score it:
``config.json`` (model, resolved config, seed, data source), ``split/``,
``vocabularies.json``, ``history.csv``, ``checkpoints/`` and ``metrics.json``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import tfxdr
from tfxdr import models as _models  # noqa: F401  (registers the models)
from tfxdr.config import apply_overrides, from_dict, to_dict
from tfxdr.data import (
    SplitSpec,
    Vocabularies,
    load_dataset,
    load_split,
    make_split,
    save_split,
    select_domains,
)
from tfxdr.data.domains import Interactions, OverlapRule
from tfxdr.export import save_module
from tfxdr.models.registry import MODELS
from tfxdr.rundir import CONFIG_FILE, METRICS_FILE, read_json, staged_run_dir, write_json
from tfxdr.tasks import TASKS
from tfxdr.training import BEST_WEIGHTS, fit_with_selection, restore_weights, set_seed


@dataclasses.dataclass
class DataConfig:
    """Where the interactions come from and how domains are formed.

    Args:
        dataset: ``ml-1m``, ``ml-100k`` or a path (file or directory).
        domains: domain names in order (A, B) or (source, target).
        overlap: rule for items in several requested genres: drop, first, second.
        min_rating: implicit feedback threshold (None: every rating is a click).
        user_features / item_features: optional feature tables for a path dataset.
        split_fractions: train/val/test fractions of user splits.
        a_train / a_cross: cold-start resampling (DADIN Algorithm 2): the share of
            target-domain users used for training, and the share of those that
            are also evaluated.
        evaluate_source: cold-start splits also hold out the evaluated users'
            last day in the source domain, so both domains are scored.
    """

    dataset: str
    domains: tuple[str, ...]
    overlap: OverlapRule = "drop"
    min_rating: float | None = None
    user_features: str | None = None
    item_features: str | None = None
    split_fractions: tuple[float, float, float] = (0.7, 0.05, 0.25)
    a_train: float = 0.8
    a_cross: float = 0.1
    evaluate_source: bool = True


def load_interactions(data: DataConfig, quiet: bool = False) -> Interactions:
    raw = load_dataset(data.dataset, data.user_features, data.item_features, quiet=quiet)
    return select_domains(raw, data.domains, data.overlap, data.min_rating)


def resolve_config(model: str, overrides: Sequence[str] = (), epochs: int | None = None):
    """The model's config: paper defaults, then ``--set`` overrides, then ``--epochs``."""
    spec = MODELS.get(model)
    extra = list(overrides) + ([f"epochs={epochs}"] if epochs is not None else [])
    return spec, apply_overrides(spec.config_cls(), extra)


def train(
    model: str,
    data: DataConfig,
    out: str | os.PathLike,
    seed: int = 0,
    overrides: Sequence[str] = (),
    epochs: int | None = None,
    overwrite: bool = False,
    verbose: int | str = "auto",
) -> dict:
    """Trains ``model``, selects on validation, scores test once; returns metrics.json."""
    spec, config = resolve_config(model, overrides, epochs)
    task = TASKS[spec.task]()
    interactions = task.restrict(load_interactions(data, quiet=verbose == 0))
    split_spec = dataclasses.replace(task.default_split, seed=seed,
                                     fractions=tuple(data.split_fractions),
                                     a_train=data.a_train, a_cross=data.a_cross,
                                     evaluate_source=data.evaluate_source)
    with staged_run_dir(Path(out), overwrite=overwrite) as run_dir:
        split_frame = make_split(interactions, split_spec)
        if hasattr(task, "select_training_rows"):
            split_frame = task.select_training_rows(split_frame, interactions.domains, config,
                                                    seed)
        save_split(run_dir, split_frame, split_spec)
        vocabs = Vocabularies.build(split_frame, interactions.domains)
        vocabs.save(run_dir)
        write_json(run_dir / CONFIG_FILE, {
            "model": model,
            "task": spec.task,
            "seed": seed,
            "config": to_dict(config),
            "data": to_dict(data),
            "split": dataclasses.asdict(split_spec),
            "tfxdr_version": tfxdr.__version__,
        })
        set_seed(seed)
        prepared = task.prepare(split_frame, vocabs, interactions.domains, interactions)
        keras_model = spec.build(config, prepared.sizes, seed)
        keras_model(task.example_batch(prepared))
        result = fit_with_selection(
            keras_model,
            task.train_dataset(prepared, config.batch_size, seed),
            num_examples=task.num_train_examples(prepared),
            epochs=config.epochs,
            evaluate_val=lambda: task.evaluate(keras_model, prepared, "val"),
            score=task.selection_score,
            run_dir=run_dir,
            eval_every=config.eval_every,
            patience=config.patience,
            verbose=verbose,
        )
        test_metrics = task.evaluate(keras_model, prepared, "test")
        report = {
            "model": model,
            "dataset": data.dataset,
            "domains": list(interactions.domains),
            "seed": seed,
            "split": "test",
            "metrics": test_metrics,
            "validation": {"split": "val", "best_epoch": result.best_epoch,
                           "selection_score": result.best_score, "metrics": result.validation},
            "epochs_run": result.epochs_run,
            "train_seconds": round(result.train_seconds, 3),
            "examples_per_second": round(result.examples_per_second, 1),
        }
        write_json(run_dir / METRICS_FILE, report)
    return report


@dataclasses.dataclass
class LoadedRun:
    """A finished run rebuilt from its directory, best weights restored."""

    saved: dict
    config: object
    task: object
    prepared: object
    vocabs: Vocabularies
    domains: tuple[str, ...]
    model: object


def load_run(run_dir: str | os.PathLike) -> LoadedRun:
    """Rebuilds a finished run from its saved config, split, vocabularies and weights."""
    run_dir = Path(run_dir)
    saved = read_json(run_dir / CONFIG_FILE)
    read_json(run_dir / METRICS_FILE)  # a run without metrics.json did not finish
    spec = MODELS.get(saved["model"])
    config = from_dict(spec.config_cls, saved["config"])
    task = TASKS[spec.task]()
    split_frame, _ = load_split(run_dir)
    vocabs = Vocabularies.load(run_dir)
    domains = tuple(saved["data"]["domains"])
    interactions = None
    if task.needs_side_tables:  # user and item tables are not part of the saved split
        interactions = load_interactions(from_dict(DataConfig, saved["data"]), quiet=True)
    prepared = task.prepare(split_frame, vocabs, domains, interactions)
    keras_model = spec.build(config, prepared.sizes, saved["seed"])
    keras_model(task.example_batch(prepared))
    restore_weights(keras_model, run_dir / "checkpoints" / BEST_WEIGHTS)
    return LoadedRun(saved, config, task, prepared, vocabs, domains, keras_model)


def evaluate(run_dir: str | os.PathLike, part: str = "test") -> dict:
    """Re-scores a finished run from its saved split, vocabularies and best weights."""
    run = load_run(run_dir)
    return {"model": run.saved["model"], "dataset": run.saved["data"]["dataset"],
            "domains": list(run.domains), "seed": run.saved["seed"], "split": part,
            "metrics": run.task.evaluate(run.model, run.prepared, part)}


def export(run_dir: str | os.PathLike, version: int | None = None) -> Path:
    """Exports a finished run as a SavedModel under ``RUN_DIR/export/<version>``."""
    run = load_run(run_dir)
    module, signatures = run.task.serving_module(run)
    return save_module(module, signatures, Path(run_dir), version)


def format_metrics(metrics: dict[str, dict[str, float]]) -> str:
    """A table: one row per direction/domain, one column per metric."""
    columns = list(dict.fromkeys(name for values in metrics.values() for name in values))
    width = max([len(k) for k in metrics] + [8])
    lines = [f"{'':<{width}} " + " ".join(f"{c:>12}" for c in columns)]
    for key, values in metrics.items():
        lines.append(f"{key:<{width}} " + " ".join(f"{values.get(c, float('nan')):>12.4f}"
                                                  for c in columns))
    return "\n".join(lines)


def bench(
    entries: Sequence[tuple[str, str]],
    data: DataConfig,
    seeds: Sequence[int],
    out: str | os.PathLike,
    overrides: dict[str, Sequence[str]] | None = None,
    epochs: int | None = None,
    verbose: int | str = 0,
) -> list[dict]:
    """Trains every ``(label, model)`` entry with every seed on identical splits.

    A label lets one model appear twice with different settings (an ablation);
    ``overrides`` are keyed by label.  Runs go to ``out/LABEL/seed-N``; a run
    that already finished is read back instead of retrained, so an interrupted
    bench resumes where it stopped.  Each report gets its ``label``.
    """
    reports = []
    for label, model in entries:
        for seed in seeds:
            run_dir = Path(out) / label / f"seed-{seed}"
            if (run_dir / METRICS_FILE).is_file():
                report = read_json(run_dir / METRICS_FILE)
            else:
                print(f"bench: {label} ({model}) seed {seed} -> {run_dir}", flush=True)
                report = train(model, data, run_dir, seed=seed,
                               overrides=(overrides or {}).get(label, ()), epochs=epochs,
                               overwrite=True, verbose=verbose)
            reports.append({**report, "label": label})
    return reports
