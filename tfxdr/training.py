"""The fit loop every model shares: seeds, validation selection, checkpoints, history.

Selection happens on the validation split only: after every ``eval_every``
epochs a callback scores the validation users, keeps the best weights in
``checkpoints/best.weights.h5`` and stops after ``patience`` evaluations
without improvement.  The test split is never touched here.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tfxdr.errors import DataError, TrainingError
from tfxdr.models.base import NON_FINITE, Phase

BEST_WEIGHTS = "best.weights.h5"
LAST_WEIGHTS = "last.weights.h5"


def set_seed(seed: int) -> None:
    """Seeds Python, NumPy, TensorFlow and Keras, and asks TF for deterministic ops."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def flatten_metrics(metrics: dict[str, dict[str, float]], prefix: str) -> dict[str, float]:
    """``{"A->B": {"recall@50": x}}`` -> ``{"val/A->B/recall@50": x}``."""
    return {f"{prefix}/{key}/{name}": value
            for key, values in metrics.items() for name, value in values.items()}


class HistoryWriter(keras.callbacks.Callback):
    """Writes every epoch's logs and validation metrics to a CSV.

    The progress bar shows only the selection score; the CSV gets every
    validation metric.  The file is rewritten each epoch so new columns fit.
    """

    def __init__(self, path: Path, selection: "ValidationSelection"):
        super().__init__()
        self.path = Path(path)
        self.selection = selection
        self.rows: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        row.update(self.selection.last_metrics)
        self.selection.last_metrics = {}
        self.rows.append(row)
        columns = list(dict.fromkeys(k for r in self.rows for k in r))
        with open(self.path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(self.rows)


class StepLossWriter(keras.callbacks.Callback):
    """Writes every training step's loss terms to a CSV (``steps.csv``).

    Keras reports running means over the epoch so far.  For the metrics named in
    ``per_batch`` (trackers updated once per batch, each batch counting the same;
    a tfxdr model's ``per_batch_metrics``) the value of batch n is recovered exactly as
    n * mean_n - (n - 1) * mean_(n-1), and written under its own name.  Other
    metrics (a compiled loss weighs batches by their size, and the last batch
    of an epoch is often smaller) are written as reported, as
    ``NAME_running_mean``.
    """

    def __init__(self, path: Path, per_batch: tuple[str, ...] = ()):
        super().__init__()
        self.path = Path(path)
        self.per_batch = set(per_batch)
        self.step = 0
        self.previous: dict[str, float] = {}
        self.pending: list[dict] = []
        self.columns: list[str] | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.previous = {}

    def on_train_batch_end(self, batch, logs=None):
        n = batch + 1
        means = {k: float(v) for k, v in (logs or {}).items()}
        values = {}
        for key, mean in means.items():
            if key in self.per_batch:
                values[key] = n * mean - (n - 1) * self.previous.get(key, 0.0)
            else:
                values[f"{key}_running_mean"] = mean
        self.previous = means
        self.step += 1
        self.pending.append({"step": self.step, "epoch": self.epoch, **values})

    def on_epoch_end(self, epoch, logs=None):
        if not self.pending:
            return
        new_file = self.columns is None
        if new_file:
            self.columns = list(self.pending[0])
        with open(self.path, "w" if new_file else "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.columns, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerows(self.pending)
        self.pending = []


class ValidationSelection(keras.callbacks.Callback):
    """Scores the validation split, keeps the best weights, stops early.

    Args:
        evaluate: returns ``{key: {metric: value}}`` for the validation split.
        score: reduces those metrics to one number, higher is better.
        checkpoint_dir: where ``best.weights.h5`` goes.
        eval_every: validate after every this many epochs (and the last one).
        patience: validations without improvement before stopping; 0 = never.
        total_epochs: to validate after the final epoch.

    Epochs of a phase that does not select (a pre-training phase, such as
    fine-tuning's source epochs) are neither validated nor patience steps.
    """

    def __init__(self, evaluate: Callable[[], dict], score: Callable[[dict], float],
                 checkpoint_dir: Path, eval_every: int, patience: int, total_epochs: int,
                 phases: list[Phase] | None = None):
        super().__init__()
        self.evaluate = evaluate
        self.score = score
        self.checkpoint_dir = Path(checkpoint_dir)
        self.eval_every = eval_every
        self.patience = patience
        self.total_epochs = total_epochs
        self.phases = phases or [Phase(total_epochs)]
        self.best_score = -math.inf
        self.best_epoch = 0
        self.best_metrics: dict = {}
        self.waited = 0
        self.seconds = 0.0
        self.last_metrics: dict[str, float] = {}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        for name, value in logs.items():
            if not np.isfinite(float(value)):
                raise TrainingError(f"training diverged: {name}={float(value)} at epoch "
                                    f"{epoch + 1}; try a smaller learning_rate")
        last = epoch + 1 == self.total_epochs
        if (epoch + 1) % self.eval_every and not last:
            return
        if not self.selects(epoch + 1):
            return  # a pre-training phase: neither a candidate nor a patience step
        started = time.perf_counter()
        metrics = self.evaluate()
        self.seconds += time.perf_counter() - started
        score = self.score(metrics)
        self.last_metrics = flatten_metrics(metrics, "val")
        logs["val_selection"] = score
        if score > self.best_score:
            self.best_score, self.best_epoch, self.best_metrics = score, epoch + 1, metrics
            self.model.save_weights(self.checkpoint_dir / BEST_WEIGHTS)
            self.waited = 0
        else:
            self.waited += 1
            if self.patience and self.waited >= self.patience:
                self.model.stop_training = True


    def selects(self, epoch: int) -> bool:
        for phase in self.phases:
            if epoch <= phase.last_epoch:
                return phase.selects
        return True


def restore_weights(model, path: Path) -> None:
    """Loads saved weights, building both optimizers first so that their state loads
    too (without the build, Keras skips saved optimizer variables with a warning)."""
    model.build_optimizers()
    model.load_weights(path)


@dataclasses.dataclass
class FitResult:
    best_epoch: int
    best_score: float
    validation: dict
    epochs_run: int
    train_seconds: float
    examples_per_second: float


def fit_with_selection(
    model,
    task,
    data,
    config,
    seed: int,
    run_dir: Path,
    verbose: int | str = "auto",
    callbacks: list | None = None,
) -> FitResult:
    """``model.fit`` with validation selection; restores the best weights at the end.

    The model's phases (:meth:`~tfxdr.models.base.TfxdrModel.training_phases`)
    each train on their own rows, one ``fit`` call each, sharing the callbacks
    so that selection and logs run across them; the model's own callbacks (a
    schedule) come first, then ``callbacks``.  Instances per second count every
    training instance per epoch.

    Raises:
        TrainingError: a loss term became NaN or infinite; no update with it was
            applied, and the best checkpoint so far is on disk.
    """
    epochs = config.epochs
    checkpoint_dir = Path(run_dir) / "checkpoints"
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    phases = model.training_phases(epochs)
    selection = ValidationSelection(lambda: task.evaluate(model, data, "val"),
                                    lambda metrics: task.selection_score(metrics, data),
                                    checkpoint_dir, config.eval_every, config.patience, epochs,
                                    phases)
    history = HistoryWriter(Path(run_dir) / "history.csv", selection)
    steps = StepLossWriter(Path(run_dir) / "steps.csv", model.per_batch_metrics)
    for phase in phases:
        if not task.num_train_examples(data, phase.domains):
            which = ", ".join(phase.domains) if phase.domains else "any domain"
            raise DataError(f"the training split has no rows of {which} left to train on "
                            "(see the config's train_domains and target_fraction)")
    datasets = [task.train_dataset(data, config.batch_size, seed, phase.domains)
                for phase in phases]
    total_steps = sum(int(d.cardinality()) * (phase.last_epoch - first) for d, phase, first in
                      zip(datasets, phases, [0] + [p.last_epoch for p in phases[:-1]]))
    extra = model.training_callbacks(total_steps if total_steps >= 0 else None)
    extra += list(callbacks or [])
    start = time.perf_counter()
    epochs_run, first_epoch, examples = 0, 0, 0
    for phase, dataset in zip(phases, datasets):
        try:
            fitted = model.fit(dataset, initial_epoch=first_epoch, epochs=phase.last_epoch,
                               verbose=verbose, shuffle=False,
                               callbacks=[*extra, selection, history, steps])
        except tf.errors.InvalidArgumentError as error:
            if NON_FINITE not in error.message:
                raise
            term = error.message.split(NON_FINITE, 1)[1].split(":")[0].strip()
            raise TrainingError(f"training diverged: loss term {term} is not finite at "
                                f"epoch {steps.epoch}, step {steps.step + 1}; no update with it "
                                "was applied (try a smaller learning_rate)",
                                field="learning_rate") from None
        epochs_run += len(fitted.epoch)
        examples += len(fitted.epoch) * task.num_train_examples(data, phase.domains)
        first_epoch = phase.last_epoch
        if model.stop_training:
            break
    # Training time excludes the validation passes, so examples/s measures training.
    seconds = time.perf_counter() - start - selection.seconds
    model.save_weights(checkpoint_dir / LAST_WEIGHTS)
    model.load_weights(checkpoint_dir / BEST_WEIGHTS)
    return FitResult(
        best_epoch=selection.best_epoch,
        best_score=selection.best_score,
        validation=selection.best_metrics,
        epochs_run=epochs_run,
        train_seconds=seconds,
        examples_per_second=examples / seconds if seconds > 0 else 0.0,
    )
