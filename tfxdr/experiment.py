"""Train / evaluate runs: data -> split -> model -> selection -> test, saved to a run dir.

A run directory holds everything needed to reproduce or re-score it (see
:mod:`tfxdr.rundir`), and nothing outside it is read again: ``evaluate`` and
``export`` load ``model.keras`` and rebuild the examples from the saved split
and feature spec.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import keras

import tfxdr
from tfxdr.config import apply_overrides, from_dict, to_dict
from tfxdr.data import load_dataset, load_split, make_split, save_split, select_domains
from tfxdr.data.domains import Interactions, OverlapRule
from tfxdr.export import save_module
from tfxdr.features import FeatureSpec
from tfxdr.models.registry import MODELS
from tfxdr.rundir import CONFIG_FILE, METRICS_FILE, MODEL_FILE, read_json, staged_run_dir, \
    write_json
from tfxdr.tasks import TASKS
from tfxdr.training import fit_with_selection, set_seed


@dataclasses.dataclass
class DataConfig:
    """Where the interactions come from and how domains are formed.

    Args:
        dataset: ``ml-1m``, ``ml-100k`` or a path (file or directory).
        domains: domain names in order (for CTR, the target last).
        overlap: rule for items in several requested genres: drop, first, last (second).
        min_rating: implicit feedback threshold (None: every rating is a click).
        user_features / item_features: optional feature tables for a path dataset.
        split_fractions: train/val/test fractions of user splits.
        a_train / a_cross: cold-start resampling (DADIN Algorithm 2): the share of
            target-domain users used for training, and the share of those that
            are also evaluated.
        evaluate_source: cold-start splits also hold out the evaluated users'
            last day in the source domains, so every domain is scored.
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
    model_spec, config = resolve_config(model, overrides, epochs)
    model_spec.check_domains(tuple(data.domains))
    task = TASKS[model_spec.task]()
    interactions = task.restrict(load_interactions(data, quiet=verbose == 0))
    split_spec = dataclasses.replace(task.default_split, seed=seed,
                                     fractions=tuple(data.split_fractions),
                                     a_train=data.a_train, a_cross=data.a_cross,
                                     evaluate_source=data.evaluate_source)
    with staged_run_dir(Path(out), replace=overwrite) as run_dir:
        split_frame = make_split(interactions, split_spec)
        split_frame = task.select_training_rows(split_frame, interactions.domains, config, seed)
        save_split(run_dir, split_frame, split_spec)
        features = task.feature_spec(interactions, split_frame, config)
        features.save(run_dir)
        write_json(run_dir / CONFIG_FILE, {
            "model": model,
            "task": model_spec.task,
            "seed": seed,
            "config": to_dict(config),
            "data": to_dict(data),
            "split": dataclasses.asdict(split_spec),
            "tfxdr_version": tfxdr.__version__,
        })
        set_seed(seed)
        prepared = task.prepare(split_frame, features, config)
        keras_model = model_spec.create(config, features, seed)
        result = fit_with_selection(keras_model, task, prepared, config, seed, run_dir,
                                    verbose=verbose)
        keras_model.save(run_dir / MODEL_FILE)
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
    """A finished run: its saved settings, task, examples and selected model."""

    saved: dict
    config: object
    task: object
    prepared: object
    spec: FeatureSpec
    model: keras.Model

    @property
    def domains(self) -> tuple[str, ...]:
        return self.spec.domains


def load_run(run_dir: str | os.PathLike) -> LoadedRun:
    """Loads a finished run from its directory alone: ``model.keras``, the saved split
    and the feature spec."""
    run_dir = Path(run_dir)
    saved = read_json(run_dir / CONFIG_FILE)
    read_json(run_dir / METRICS_FILE)  # a run without metrics.json did not finish
    model_spec = MODELS.get(saved["model"])
    config = from_dict(model_spec.config_cls, saved["config"])
    task = TASKS[model_spec.task]()
    split_frame, _ = load_split(run_dir)
    spec = FeatureSpec.load(run_dir)
    model = keras.saving.load_model(run_dir / MODEL_FILE)
    return LoadedRun(saved, config, task, task.prepare(split_frame, spec, config), spec, model)


def evaluate(run_dir: str | os.PathLike, part: str = "test") -> dict:
    """Re-scores a finished run from its saved split, feature spec and model."""
    run = load_run(run_dir)
    return {"model": run.saved["model"], "dataset": run.saved["data"]["dataset"],
            "domains": list(run.domains), "seed": run.saved["seed"], "split": part,
            "metrics": run.task.evaluate(run.model, run.prepared, part)}


def export(run_dir: str | os.PathLike, version: int | None = None) -> Path:
    """Exports a finished run as a SavedModel under ``RUN_DIR/export/<version>``."""
    run = load_run(run_dir)
    module, signatures = run.task.serving_module(run.model, run.prepared)
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
