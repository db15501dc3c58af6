"""Train / evaluate runs: data -> split -> model -> selection -> test, saved to a run dir.

A run directory holds everything needed to reproduce or re-score it (see
:mod:`tfxdr.rundir`), and nothing outside it is read again: ``evaluate`` and
``export`` load ``model.keras`` and rebuild the examples from the saved split
and feature spec.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import keras

import tfxdr
from tfxdr import rundir
from tfxdr.config import from_dict, to_dict
from tfxdr.data import load_dataset, load_split, make_split, save_split, select_domains, sources
from tfxdr.data.domains import Interactions, OverlapRule
from tfxdr.data.overlap import check_overlap_ratio, with_overlap_ratio
from tfxdr.errors import ConfigError, RunDirError, TrainingError, TrainingInterrupted
from tfxdr.export import EXPORT_DIR, save_module
from tfxdr.features import FeatureSpec
from tfxdr.provenance import code_digest
from tfxdr.registry import MODELS, resolve_config
from tfxdr.resume import CHECKPOINT_OVERHEAD, read_progress
from tfxdr.rundir import CONFIG_FILE, METRICS_FILE, MODEL_FILE, read_json, write_json
from tfxdr.tasks import TASKS
from tfxdr.training import BEST_WEIGHTS, fit_with_selection, load_weights, set_seed


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
        overlap_ratio: the share of the users common to two domains that stay
            common (a seeded choice; the others keep one domain each, see
            :func:`tfxdr.data.limit_overlap`); None keeps every user as is.
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
    overlap_ratio: float | None = None


def load_interactions(data: DataConfig, quiet: bool = False) -> Interactions:
    raw = load_dataset(data.dataset, data.user_features, data.item_features, quiet=quiet)
    return select_domains(raw, data.domains, data.overlap, data.min_rating)


@dataclasses.dataclass
class PlannedRun:
    """A run before it trains: its model, task and the ``config.json`` it will have."""

    spec: object
    config: object
    task: object
    data: DataConfig
    split: object
    record: dict


def plan_run(model: str, data: DataConfig, seed: int = 0, overrides: Sequence[str] = (),
             epochs: int | None = None, given: dict | None = None,
             config_values: Mapping[str, Any] | None = None) -> PlannedRun:
    """Resolves everything a run's outcome depends on, data checksums included,
    without loading the data, and the code (:func:`~tfxdr.provenance.code_digest`):
    what ``config.json`` records and a resume or a bench compares.
    ``given`` (see :func:`train`) replaces the data files' checksums and makes the
    split the interactions' own."""
    model_spec, config = resolve_config(model, overrides, epochs, config_values)
    model_spec.check_domains(tuple(data.domains))
    check_overlap_ratio(data.overlap_ratio, data.domains)
    task = TASKS[model_spec.task]()
    data = dataclasses.replace(data, dataset=sources.absolute(data.dataset),
                               user_features=sources.absolute(data.user_features),
                               item_features=sources.absolute(data.item_features))
    split_spec = dataclasses.replace(task.default_split, seed=seed,
                                     kind="given" if given else task.default_split.kind,
                                     fractions=tuple(data.split_fractions),
                                     a_train=data.a_train, a_cross=data.a_cross,
                                     evaluate_source=data.evaluate_source)
    split_spec.validate()
    record = {
        "model": model,
        "task": model_spec.task,
        "seed": seed,
        "config": to_dict(config),
        "data": to_dict(data),
        "sources": given["sources"] if given else sources.fingerprint(
            data.dataset, data.user_features, data.item_features),
        "split": dataclasses.asdict(split_spec),
        "tfxdr_version": tfxdr.__version__,
        "code": code_digest(),
    }
    return PlannedRun(model_spec, config, task, data, split_spec, record)


def difference(saved: dict, planned: dict) -> str | None:
    """One line naming what differs between a saved run's config.json and a planned one."""
    changed = sources.changed_file(saved.get("sources", {}), planned["sources"])
    if changed:
        return changed
    found = rundir.first_difference({k: v for k, v in saved.items() if k != "sources"},
                                    {k: v for k, v in planned.items() if k != "sources"})
    return f"{found} differs" if found else None


def train(
    model: str,
    data: DataConfig,
    out: str | os.PathLike,
    seed: int = 0,
    overrides: Sequence[str] = (),
    epochs: int | None = None,
    overwrite: bool = False,
    restart: bool = False,
    verbose: int | str = "auto",
    interactions: Interactions | None = None,
    sources_record: dict | None = None,
    strategy=None,
    callbacks: Sequence | None = None,
    checkpoint_overhead: float | None = CHECKPOINT_OVERHEAD,
    config_values: Mapping[str, Any] | None = None,
    score_test: bool = True,
    validation_callbacks: Sequence | None = None,
) -> dict:
    """Trains ``model``, selects on validation, scores test once; returns metrics.json.

    ``config_values`` are config fields as JSON values (a config file's, a tuner's),
    applied before ``overrides`` and ``epochs``.  ``score_test=False`` never touches
    the test split: metrics.json then holds the selected epoch's validation metrics
    (``"split": "val"``), as a hyperparameter search must see nothing else.

    ``interactions`` with a ``split`` column train instead of loading ``data``
    (a pipeline's transformed rows, split upstream); ``sources_record`` then
    identifies them in ``config.json`` in place of the data files' checksums.
    ``strategy`` (a ``tf.distribute`` strategy, e.g.
    :func:`tfxdr.distribute.multi_worker_strategy`) holds the model's variables;
    every worker of a cluster calls ``train`` with its own ``out`` and ends with
    the same weights.  ``callbacks`` are Keras callbacks that ``fit`` calls besides
    the run's own (a timer, a profiler).  ``checkpoint_overhead`` bounds the share
    of time spent writing resume checkpoints (``None``: one every epoch; see
    :func:`tfxdr.resume.checkpoint_due`).  ``validation_callbacks`` see each
    validation's score (see :func:`fit_with_selection`), and may stop training.

    The run trains in a staging directory beside ``out`` (see :mod:`tfxdr.rundir`)
    and becomes ``out`` when complete.  If an earlier run of the same settings
    was stopped there, it resumes from its last checkpoint; ``restart`` discards it.

    Raises:
        RunDirError: ``out`` holds a finished run (and not ``overwrite``), is
            locked by another process, or holds an unfinished run of other settings.
        TrainingError / TrainingInterrupted: see :func:`fit_with_selection`; the
            unfinished run is kept and says why in its ``status.json``.
    """
    target = rundir.check_out(Path(out), overwrite)
    given = None if interactions is None else {"sources": sources_record or {}}
    planned = plan_run(model, data, seed, overrides, epochs, given, config_values)
    quiet = verbose == 0
    with rundir.run_lock(target):
        rundir.remove_leftovers(target)
        rundir.check_out(target, overwrite)  # again: another process may have finished it
        run_dir = rundir.staged_path(target)
        try:
            resume = _resumable(run_dir, target, planned.record, restart)
            if resume:  # an unreadable checkpoint is reported before anything changes
                where = read_progress(run_dir / rundir.CHECKPOINT_DIR / rundir.RESUME_FILE)
                _say(quiet, f"resuming {target} {where} (--restart starts over)")
            else:
                write_inputs(planned, run_dir, quiet, interactions)
            report = _train_staged(planned, run_dir, resume, verbose, strategy, callbacks,
                                   checkpoint_overhead, score_test, validation_callbacks)
        except TrainingError:
            raise  # the run is kept, marked failed
        except BaseException:
            if not rundir.has_checkpoint(run_dir):  # nothing trained yet: nothing to keep
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        rundir.publish(run_dir, target)
    return report


def write_inputs(planned: PlannedRun, run_dir: Path, quiet: bool = False,
                 interactions: Interactions | None = None) -> None:
    """Loads the data (unless given) and writes what the run trains on into
    ``run_dir``: split, feature spec, the task's own inputs and config.json."""
    task, config, seed = planned.task, planned.config, planned.record["seed"]
    interactions = task.restrict(interactions if interactions is not None
                                 else load_interactions(planned.data, quiet=quiet))
    interactions = with_overlap_ratio(interactions, planned.data.overlap_ratio, seed)
    split_frame = make_split(interactions, planned.split)
    task.check_split(split_frame, interactions.where)
    split_frame = task.select_training_rows(split_frame, interactions.domains, config, seed)
    save_split(run_dir, split_frame, planned.split)
    features = task.feature_spec(interactions, split_frame, config)
    features.save(run_dir)
    task.write_inputs(run_dir, split_frame, features, config, seed)
    write_json(run_dir / CONFIG_FILE, planned.record)


def read_inputs(planned: PlannedRun, run_dir: Path) -> tuple[FeatureSpec, object]:
    """The feature spec and the task's prepared data (what its datasets and
    evaluation read) from inputs :func:`write_inputs` saved in ``run_dir``."""
    split_frame, _ = load_split(run_dir)
    features = FeatureSpec.load(run_dir)
    return features, planned.task.prepare(split_frame, features, planned.config, run_dir)


def _train_staged(planned: PlannedRun, run_dir: Path, resume: bool, verbose,
                  strategy=None, callbacks: Sequence | None = None,
                  checkpoint_overhead: float | None = CHECKPOINT_OVERHEAD,
                  score_test: bool = True,
                  validation_callbacks: Sequence | None = None) -> dict:
    """Trains (or resumes) the run in ``run_dir`` from its saved inputs, scores the test
    split (unless not ``score_test``) and writes the model, metrics and status; returns
    metrics.json."""
    task, config, seed = planned.task, planned.config, planned.record["seed"]
    rundir.write_status(run_dir, "running", pid=os.getpid())
    set_seed(seed)
    features, prepared = read_inputs(planned, run_dir)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = planned.spec.create(config, features, seed)
    try:
        result = fit_with_selection(model, task, prepared, config, seed, run_dir,
                                    verbose=verbose, resume=resume, callbacks=callbacks,
                                    checkpoint_overhead=checkpoint_overhead,
                                    validation_callbacks=validation_callbacks)
    except TrainingInterrupted as error:
        rundir.write_status(run_dir, "interrupted", reason=str(error))
        raise TrainingInterrupted(f"{error} in {run_dir}; run the same command to resume",
                                  error.signal_number) from None
    except TrainingError as error:
        rundir.write_status(run_dir, "failed", reason=str(error))
        kept = (f"`tfxdr evaluate {run_dir}` scores its best checkpoint"
                if (run_dir / rundir.CHECKPOINT_DIR / BEST_WEIGHTS).is_file()
                else "it had no checkpoint yet")
        raise TrainingError(f"{error}; the run is kept in {run_dir}, marked failed, and "
                            f"{kept}; try a smaller learning_rate", field=error.field) from None
    except KeyboardInterrupt:
        rundir.write_status(run_dir, "interrupted", reason="KeyboardInterrupt")
        raise
    model.save(run_dir / MODEL_FILE)
    report = {
        "model": planned.record["model"],
        "dataset": planned.data.dataset,
        "domains": list(features.domains),
        "seed": seed,
        "split": "test" if score_test else "val",
        "metrics": task.evaluate(model, prepared, "test") if score_test else result.validation,
        "validation": {"split": "val", "best_epoch": result.best_epoch,
                       "selection_score": result.best_score, "metrics": result.validation},
        "epochs_run": result.epochs_run,
        "train_seconds": round(result.train_seconds, 3),
        "examples_per_second": round(result.examples_per_second, 1),
        "checkpoint_seconds": round(result.checkpoint_seconds, 3),
        "replicas": strategy.num_replicas_in_sync if strategy is not None else 1,
    }
    write_json(run_dir / METRICS_FILE, report)
    rundir.write_status(run_dir, "complete")
    return report


def _resumable(run_dir: Path, target: Path, record: dict, restart: bool) -> bool:
    """Whether ``run_dir`` holds a checkpoint of these settings to resume; otherwise
    leaves it empty for a fresh start.

    Raises:
        RunDirError: it holds trained state of other settings, or of a run that failed.
    """
    if run_dir.exists() and rundir.has_checkpoint(run_dir) and not restart:
        saved = read_json(run_dir / CONFIG_FILE, "an unfinished run directory")
        found = difference(saved, record)
        if found:
            raise RunDirError(f"{target}: an unfinished run with other settings is in {run_dir} "
                              f"({found}); pass --restart to discard it")
        status = rundir.read_status(run_dir)
        if status.get("status") == "failed":
            raise RunDirError(f"{target}: the unfinished run in {run_dir} failed ("
                              f"{status.get('reason', 'no reason recorded')}); pass --restart "
                              "to train it again")
        return True
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    return False


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


@dataclasses.dataclass
class LoadedRun:
    """A run: its saved settings, task, examples and selected model.

    ``status`` is ``complete``, or, for an unfinished run loaded from its best
    checkpoint, why it did not finish (``failed``, ``interrupted``, ``running``).
    """

    saved: dict
    config: object
    task: object
    prepared: object
    spec: FeatureSpec
    model: keras.Model
    status: str = "complete"

    @property
    def domains(self) -> tuple[str, ...]:
        return self.spec.domains


def load_run(run_dir: str | os.PathLike, unfinished: bool = False) -> LoadedRun:
    """Loads a run from its directory alone: the model, the saved split and the
    feature spec.  A finished run's model is ``model.keras``; with ``unfinished``, a
    run that failed or was stopped is loaded from its best checkpoint.

    Raises:
        RunDirError: a file is missing or unreadable, or the run is unfinished
            (and not ``unfinished``).
    """
    run_dir = Path(run_dir)
    saved = read_json(run_dir / CONFIG_FILE, "a run directory")
    if not isinstance(saved, dict) or "model" not in saved or "config" not in saved:
        raise RunDirError(f"{run_dir / CONFIG_FILE}: not a tfxdr run configuration (no model "
                          "and config)")
    model_spec = MODELS.get(saved["model"])
    config = from_dict(model_spec.config_cls, saved["config"])
    task = TASKS[model_spec.task]()
    split_frame, _ = load_split(run_dir)
    spec = FeatureSpec.load(run_dir)
    model_spec.model_cls  # imports the model's module: its classes register with Keras
    status = "complete" if rundir.is_complete(run_dir) else \
        rundir.read_status(run_dir).get("status", "running")
    if status == "complete":
        model = _read_model(run_dir / MODEL_FILE, _load_keras_file)
    elif not unfinished:
        raise RunDirError(f"{run_dir}: an unfinished run (status {status}); finish it by "
                          "running its train command again")
    else:
        best = run_dir / rundir.CHECKPOINT_DIR / BEST_WEIGHTS
        model = model_spec.create(config, spec, saved["seed"])
        _read_model(best, lambda path: load_weights(model, path))
    prepared = task.prepare(split_frame, spec, config, run_dir)
    return LoadedRun(saved, config, task, prepared, spec, model, status)


def _load_keras_file(path: Path) -> keras.Model:
    if not zipfile.is_zipfile(path):  # Keras would say "File not found"
        raise ValueError("truncated or damaged: not a zip file")
    return keras.saving.load_model(path)


def _read_model(path: Path, read):
    if not path.is_file():
        raise RunDirError(f"{path}: missing; the run directory is incomplete")
    try:
        return read(path)
    except Exception as error:  # Keras and h5py raise many kinds for a damaged file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else \
            type(error).__name__
        raise RunDirError(f"{path}: cannot be read ({reason[:200]})") from None


def evaluate(run_dir: str | os.PathLike, part: str = "test") -> dict:
    """Re-scores a run from its saved split, feature spec and model; an unfinished
    run (failed or stopped) is scored from its best checkpoint."""
    run = load_run(run_dir, unfinished=True)
    return {"model": run.saved["model"], "dataset": run.saved["data"]["dataset"],
            "domains": list(run.domains), "seed": run.saved["seed"], "split": part,
            "status": run.status, "metrics": run.task.evaluate(run.model, run.prepared, part)}


MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def export(run_dir: str | os.PathLike, version: int | None = None,
           base_path: str | os.PathLike | None = None, name: str | None = None) -> Path:
    """Exports a finished run as a SavedModel under ``RUN_DIR/export/<version>``, or
    under ``BASE_PATH/NAME/<version>``: the model ``NAME`` of a TF Serving root.

    Raises:
        ConfigError: only one of ``base_path`` and ``name``, or a name TF Serving's
            REST paths cannot carry.
    """
    if (base_path is None) != (name is None):
        raise ConfigError("--base-path and --name go together: the model is written to "
                          "BASE_PATH/NAME/<version>", field="name")
    if name is not None and not MODEL_NAME.fullmatch(name):
        raise ConfigError(f"model name {name!r} is invalid: expected letters, digits, '_', "
                          "'.' or '-', starting with a letter or digit", field="name")
    base = Path(base_path) / name if name is not None else Path(run_dir) / EXPORT_DIR
    run = load_run(run_dir)
    module, signatures = run.task.serving_module(run.model, run.prepared)
    return save_module(module, signatures, base, version,
                       warmup=run.task.warmup_requests(module, run.prepared))


def format_metrics(metrics: dict[str, dict[str, float]]) -> str:
    """A table: one row per direction/domain, one column per metric (blank where a row
    has none, as the matching task's mean of domains has no user count)."""
    columns = list(dict.fromkeys(name for values in metrics.values() for name in values))
    width = max([len(k) for k in metrics] + [8])
    lines = [f"{'':<{width}} " + " ".join(f"{c:>12}" for c in columns)]
    for key, values in metrics.items():
        lines.append(f"{key:<{width}} " + " ".join(
            f"{values[c]:>12.4f}" if c in values else " " * 12 for c in columns).rstrip())
    return "\n".join(lines)


def bench(
    entries: Sequence[tuple[str, str]],
    data: DataConfig,
    seeds: Sequence[int],
    out: str | os.PathLike,
    overrides: dict[str, Sequence[str]] | None = None,
    epochs: int | None = None,
    verbose: int | str = 0,
    config_values: dict[str, Mapping[str, Any]] | None = None,
) -> list[dict]:
    """Trains every ``(label, model)`` entry with every seed on identical splits.

    A label lets one model appear twice with different settings (an ablation);
    ``overrides`` and ``config_values`` (a study's best config, applied before the
    overrides) are keyed by label.  Runs go to ``out/LABEL/seed-N``; a run
    that already finished is read back instead of retrained, and an unfinished
    one resumes, so an interrupted bench continues where it stopped.  Every
    finished run is checked against the settings asked for before anything
    trains.  Each report gets its ``label``.

    Raises:
        RunDirError: a finished run differs from what was asked (naming the setting).
    """
    plans = []
    for label, model in entries:
        for seed in seeds:
            run_dir = Path(out) / label / f"seed-{seed}"
            extra = (overrides or {}).get(label, ())
            values = (config_values or {}).get(label)
            if rundir.is_complete(run_dir):
                planned = plan_run(model, data, seed, extra, epochs, config_values=values)
                found = difference(read_json(run_dir / CONFIG_FILE), planned.record)
                if found:
                    raise RunDirError(f"{run_dir}: a finished run of other settings ({found}); "
                                      "choose another --out, or remove it to train it again")
            plans.append((label, model, seed, extra, values, run_dir))
    reports = []
    for label, model, seed, extra, values, run_dir in plans:
        if rundir.is_complete(run_dir):
            report = read_json(run_dir / METRICS_FILE)
            print(f"bench: {label} seed {seed}: finished, read back from {run_dir}", flush=True)
        else:
            print(f"bench: {label} ({model}) seed {seed} -> {run_dir}", flush=True)
            report = train(model, data, run_dir, seed=seed, overrides=extra, epochs=epochs,
                           verbose=verbose, config_values=values)
            print(f"bench: {label} seed {seed}: best epoch {report['validation']['best_epoch']}"
                  f" of {report['epochs_run']}, {report['train_seconds']:.0f} s of training",
                  flush=True)
        reports.append({**report, "label": label})
    return reports
