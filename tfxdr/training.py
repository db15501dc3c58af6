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

from tfxdr.errors import TrainingError
from tfxdr.layers.gradient_reversal import WARMUP_VARIABLE

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

    Keras reports running means over the epoch so far.  For the metrics a model
    lists in ``per_batch_metrics`` (trackers updated once per batch, each batch
    counting the same) the value of batch n is recovered exactly as
    n * mean_n - (n - 1) * mean_(n-1), and written under its own name.  Other
    metrics (a compiled loss weighs batches by their size, and the last batch
    of an epoch is often smaller) are written as reported, as
    ``NAME_running_mean``.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
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
        per_batch = set(getattr(self.model, "per_batch_metrics", ()))
        values = {}
        for key, mean in means.items():
            if key in per_batch:
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


class ReversalWarmup(keras.callbacks.Callback):
    """Raises every gradient reversal's weight as 2 / (1 + exp(-gamma p)) - 1.

    p goes from 0 to 1 over ``total_steps`` training steps, so the adversarial
    gradient starts at 0, while the features are still noise, and ends at
    tanh(gamma / 2) of the layer's ``scale`` (0.9999 at gamma = 10, the value of
    Ganin et al. 2016, Sec. 5.2.2).
    """

    def __init__(self, total_steps: int, gamma: float = 10.0):
        super().__init__()
        if total_steps < 1:
            raise ValueError(f"ReversalWarmup total_steps={total_steps} is invalid: "
                             "expected an integer >= 1")
        self.total_steps = total_steps
        self.gamma = gamma
        self.step = 0

    def weight(self, step: int) -> float:
        progress = min(step / self.total_steps, 1.0)
        return 2.0 / (1.0 + math.exp(-self.gamma * progress)) - 1.0

    def on_train_begin(self, logs=None):
        self.variables = [v for v in self.model.non_trainable_variables
                          if v.path.endswith(f"/{WARMUP_VARIABLE}")]
        if not self.variables:
            raise TrainingError("ReversalWarmup: the model has no GradientReversal layer")

    def on_train_batch_begin(self, batch, logs=None):
        value = self.weight(self.step)
        for variable in self.variables:
            variable.assign(value)
        self.step += 1


class ValidationSelection(keras.callbacks.Callback):
    """Scores the validation split, keeps the best weights, stops early.

    Args:
        evaluate: returns ``{key: {metric: value}}`` for the validation split.
        score: reduces those metrics to one number, higher is better.
        checkpoint_dir: where ``best.weights.h5`` goes.
        eval_every: validate after every this many epochs (and the last one).
        patience: validations without improvement before stopping; 0 = never.
        total_epochs: to validate after the final epoch.

    A model with ``selection_start_epoch = n`` is not validated during its
    first n epochs (a pre-training phase, such as fine-tuning's source epochs).
    """

    def __init__(self, evaluate: Callable[[], dict], score: Callable[[dict], float],
                 checkpoint_dir: Path, eval_every: int, patience: int, total_epochs: int):
        super().__init__()
        self.evaluate = evaluate
        self.score = score
        self.checkpoint_dir = Path(checkpoint_dir)
        self.eval_every = eval_every
        self.patience = patience
        self.total_epochs = total_epochs
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
        if epoch + 1 <= getattr(self.model, "selection_start_epoch", 0):
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


def restore_weights(model: keras.Model, path: Path) -> None:
    """Loads saved weights, building the optimizers first so their state loads too.

    Without the build, Keras skips saved optimizer variables with only a
    warning.  A model with extra optimizers (a GAN's discriminator optimizer)
    builds them in its ``build_optimizers`` method.
    """
    if hasattr(model, "build_optimizers"):
        model.build_optimizers()
    else:
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built and model.trainable_variables:
            optimizer.build(model.trainable_variables)
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
    model: keras.Model,
    dataset: tf.data.Dataset,
    num_examples: int,
    epochs: int,
    evaluate_val: Callable[[], dict],
    score: Callable[[dict], float],
    run_dir: Path,
    eval_every: int = 1,
    patience: int = 0,
    verbose: int | str = "auto",
    callbacks: list | None = None,
) -> FitResult:
    """``model.fit`` with validation selection; restores the best weights at the end.

    A model may ask for its own callbacks (a schedule, say) by defining
    ``training_callbacks(total_steps)`` (None when the dataset's length is
    unknown); ``callbacks`` adds more.  A model that trains in phases on
    different data (fine-tuning) defines ``training_phases(dataset, epochs)``
    -> [(last epoch of the phase, its dataset), ...]: each phase is one
    ``fit`` call sharing the callbacks, so selection and logs run across them.
    Instances per second count every training instance per epoch.
    """
    checkpoint_dir = Path(run_dir) / "checkpoints"
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    selection = ValidationSelection(evaluate_val, score, checkpoint_dir, eval_every, patience,
                                    epochs)
    history = HistoryWriter(Path(run_dir) / "history.csv", selection)
    steps = StepLossWriter(Path(run_dir) / "steps.csv")
    extra = list(callbacks or [])
    if hasattr(model, "training_callbacks"):
        steps_per_epoch = int(dataset.cardinality())  # < 0 when unknown
        extra += model.training_callbacks(epochs * steps_per_epoch if steps_per_epoch >= 0
                                          else None)
    phases = (model.training_phases(dataset, epochs) if hasattr(model, "training_phases")
              else [(epochs, dataset)])
    start = time.perf_counter()
    epochs_run, first_epoch = 0, 0
    for last_epoch, phase_dataset in phases:
        # The schedules come first: they set what the step about to run uses.
        fitted = model.fit(phase_dataset, initial_epoch=first_epoch, epochs=last_epoch,
                           verbose=verbose, shuffle=False,
                           callbacks=[*extra, selection, history, steps])
        epochs_run += len(fitted.epoch)
        first_epoch = last_epoch
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
        examples_per_second=num_examples * epochs_run / seconds if seconds > 0 else 0.0,
    )
