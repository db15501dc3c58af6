"""The fit loop every model shares: seeds, validation selection, checkpoints, resume.

Selection happens on the validation split only: after every ``eval_every``
epochs a callback scores the validation users, keeps the best weights in
``checkpoints/best.weights.h5`` and stops after ``patience`` evaluations
without improvement.  The test split is never touched here.

Each epoch is one ``model.fit`` call whose data order depends only on the
seed and the epoch, and epochs end with a resume file (:mod:`tfxdr.resume`;
every epoch unless writing it is slow), so a run killed at any moment
continues from its last checkpointed epoch, and one stopped by SIGTERM or
SIGINT from the step where it stopped, with the same result as a run never
stopped.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import math
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf
from keras.src.saving import saving_lib

from tfxdr.errors import DataError, TrainingError, TrainingInterrupted
from tfxdr.io import atomic_file
from tfxdr.models.base import NON_FINITE, NON_FINITE_WEIGHT, Phase
from tfxdr.resume import (CHECKPOINT_OVERHEAD, checkpoint_due, load_training_state,
                          save_training_state)
from tfxdr.rundir import CHECKPOINT_DIR, RESUME_FILE

BEST_WEIGHTS = "best.weights.h5"
LAST_WEIGHTS = "last.weights.h5"


def set_seed(seed: int) -> None:
    """Seeds Python, NumPy, TensorFlow and Keras, and asks TF for deterministic ops."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def epoch_seed(seed: int, epoch: int) -> int:
    """The data-order seed of ``epoch`` (0-based): a function of the run's seed and the
    epoch only, so a resumed run sees the batches an uninterrupted one would."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def save_weights(model, path: Path) -> None:
    """The model's weights without its optimizers' state, under a scratch name
    renamed into place: a kill while writing leaves the previous file intact.

    Keras's ``save_weights`` adds every optimizer's moments, which only a resume
    needs (the resume file has them): at 70k items they were two thirds of each
    selection checkpoint's 774 MB.  Keras has no public switch for this, hence
    its saving library.
    """
    path = Path(path)
    scratch = path.with_name(f".partial-{path.name}")
    saving_lib.save_weights_only(model, scratch, objects_to_skip=_optimizers(model))
    scratch.replace(path)


def load_weights(model, path: Path) -> None:
    """Loads the model's weights from a file of :func:`save_weights` (or of Keras's
    ``save_weights``, whose optimizer state is left unread)."""
    saving_lib.load_weights_only(model, Path(path), objects_to_skip=_optimizers(model))


def _optimizers(model) -> list:
    """Every optimizer of ``model``: a tfxdr model may have several."""
    if hasattr(model, "all_optimizers"):
        return model.all_optimizers()
    return [model.optimizer] if getattr(model, "optimizer", None) is not None else []


def flatten_metrics(metrics: dict[str, dict[str, float]], prefix: str) -> dict[str, float]:
    """``{"A->B": {"recall@50": x}}`` -> ``{"val/A->B/recall@50": x}``."""
    return {f"{prefix}/{key}/{name}": value
            for key, values in metrics.items() for name, value in values.items()}


class HistoryWriter(keras.callbacks.Callback):
    """Writes every epoch's logs and validation metrics to a CSV.

    The progress bar shows only the selection score; the CSV gets every
    validation metric.  The file is rewritten (in one rename) each epoch so new
    columns fit.
    """

    def __init__(self, path: Path, selection: "ValidationSelection",
                 stopper: "StopAtStepBoundary | None" = None):
        super().__init__()
        self.path = Path(path)
        self.selection = selection
        self.stopper = stopper
        self.rows: list[dict] = []

    def state(self) -> dict:
        return {"rows": self.rows}

    def load_state(self, state: dict) -> None:
        self.rows = list(state["rows"])

    def on_epoch_end(self, epoch, logs=None):
        if self.stopper is not None and self.stopper.stopped_mid_epoch:
            return  # the epoch continues after the resume; its row comes then
        row = {"epoch": epoch + 1}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        row.update(self.selection.last_metrics)
        self.selection.last_metrics = {}
        self.rows.append(row)
        columns = list(dict.fromkeys(k for r in self.rows for k in r))
        with atomic_file(self.path) as scratch, open(scratch, "w", newline="") as handle:
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
    ``NAME_running_mean``.  ``offset`` is the number of the epoch's batches
    done before this ``fit`` call (a run resumed mid-epoch).
    """

    def __init__(self, path: Path, per_batch: tuple[str, ...] = ()):
        super().__init__()
        self.path = Path(path)
        self.per_batch = set(per_batch)
        self.step = 0
        self.epoch = 0
        self.offset = 0
        self.previous: dict[str, float] = {}
        self.pending: list[dict] = []
        self.columns: list[str] | None = None

    def state(self) -> dict:
        return {"step": self.step, "previous": self.previous, "columns": self.columns}

    def load_state(self, state: dict) -> None:
        """Continues from a saved state, dropping rows the file got after it was saved."""
        self.step, self.previous, self.columns = state["step"], state["previous"], \
            state["columns"]
        if self.columns is not None:
            with open(self.path, newline="") as handle:
                lines = handle.readlines()[:self.step + 1]
            with open(self.path, "w", newline="") as handle:
                handle.writelines(lines)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        if not self.offset:
            self.previous = {}

    def on_train_batch_end(self, batch, logs=None):
        n = self.offset + batch + 1
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
        self.flush()
        self.offset = 0

    def flush(self) -> None:
        """Appends the rows of the steps since the last flush."""
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
    fine-tuning's source epochs) are neither validated nor patience steps, and
    an epoch a signal cut short is validated when it ends, after the resume.
    """

    def __init__(self, evaluate: Callable[[], dict], score: Callable[[dict], float],
                 checkpoint_dir: Path, eval_every: int, patience: int, total_epochs: int,
                 phases: list[Phase] | None = None,
                 stopper: "StopAtStepBoundary | None" = None):
        super().__init__()
        self.stopper = stopper
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

    def state(self) -> dict:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch,
                "best_metrics": self.best_metrics, "waited": self.waited,
                "seconds": self.seconds}

    def load_state(self, state: dict) -> None:
        self.best_score, self.best_epoch, self.best_metrics = \
            state["best_score"], state["best_epoch"], state["best_metrics"]
        self.waited, self.seconds = state["waited"], state["seconds"]

    def on_epoch_end(self, epoch, logs=None):
        if self.stopper is not None and self.stopper.stopped_mid_epoch:
            return
        logs = logs if logs is not None else {}
        for name, value in logs.items():
            if not np.isfinite(float(value)):
                raise TrainingError(f"training diverged: {name}={float(value)} at epoch "
                                    f"{epoch + 1}", field="learning_rate")
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
            save_weights(self.model, self.checkpoint_dir / BEST_WEIGHTS)
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


class ReportValidation(keras.callbacks.Callback):
    """Hands each validation's score to ``report(epoch, score)`` (epochs from 1) and
    stops training when it returns True: a search's pruner judging a trial.

    Pass it among ``validation_callbacks`` (see :func:`fit_with_selection`): it
    must run after :class:`ValidationSelection`, which puts the score in the logs.
    """

    def __init__(self, report: Callable[[int, float], bool]):
        super().__init__()
        self.report = report
        self.reported: list[int] = []
        self.stopped = False

    def on_epoch_end(self, epoch, logs=None):
        if not logs or "val_selection" not in logs:
            return  # an epoch that does not validate
        self.reported.append(epoch + 1)
        if self.report(epoch + 1, float(logs["val_selection"])):
            self.stopped = True
            self.model.stop_training = True


class StopAtStepBoundary(keras.callbacks.Callback):
    """Turns SIGTERM and SIGINT into a stop after the current training step.

    While :meth:`handling_signals` is active, the first such signal is recorded
    and training stops after the step in progress (mid-epoch, unless it was
    the epoch's last step: then the epoch ends as usual); the loop then
    writes a checkpoint.  A second SIGINT stops at once (KeyboardInterrupt).
    ``batches`` is the number of steps of the current ``fit`` call.
    """

    def __init__(self):
        super().__init__()
        self.signal_number: int | None = None
        self.batches = 0
        self.steps_run = 0
        self.stopped_mid_epoch = False

    @contextlib.contextmanager
    def handling_signals(self, enabled: bool = True) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield  # signal handlers can only be set in the main thread
            return
        previous = {number: signal.getsignal(number) for number in (signal.SIGINT,
                                                                    signal.SIGTERM)}

        def handle(number, frame):
            if self.signal_number is not None and number == signal.SIGINT:
                raise KeyboardInterrupt
            self.signal_number = number
            print(f"\n{signal.Signals(number).name}: stopping after this step to write a "
                  "checkpoint (Ctrl-C again stops at once)", file=sys.stderr, flush=True)

        for number in previous:
            signal.signal(number, handle)
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    @property
    def requested(self) -> bool:
        return self.signal_number is not None

    def on_epoch_begin(self, epoch, logs=None):
        self.steps_run = 0
        self.stopped_mid_epoch = False

    def on_train_batch_end(self, batch, logs=None):
        self.steps_run += 1
        if self.requested and self.steps_run < self.batches:
            self.stopped_mid_epoch = True
            self.model.stop_training = True


class _RestoreTrackers(keras.callbacks.Callback):
    """Puts back the loss trackers' running sums when an epoch resumes mid-way
    (``fit`` zeroes them as each epoch begins)."""

    def __init__(self, values: list[np.ndarray]):
        super().__init__()
        self.values = values

    def on_epoch_begin(self, epoch, logs=None):
        variables = [v for m in self.model.metrics for v in m.variables]
        for variable, value in zip(variables, self.values):
            variable.assign(value)


class RunProgbar(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, numbering epochs against the whole run: the loop calls
    ``fit`` once per epoch, which on its own prints "Epoch 7/7" instead of "7/60"."""

    def __init__(self, epochs: int):
        super().__init__()
        self.run_epochs = epochs

    def set_params(self, params):
        super().set_params(params)
        self.epochs = self.run_epochs


@dataclasses.dataclass
class FitResult:
    best_epoch: int
    best_score: float
    validation: dict
    epochs_run: int
    train_seconds: float
    examples_per_second: float
    checkpoint_seconds: float = 0.0  # writing resume files, not in train_seconds


def fit_with_selection(
    model,
    task,
    data,
    config,
    seed: int,
    run_dir: Path,
    verbose: int | str = "auto",
    callbacks: list | None = None,
    resume: bool = False,
    checkpoint_overhead: float | None = CHECKPOINT_OVERHEAD,
    validation_callbacks: list | None = None,
) -> FitResult:
    """``model.fit`` with validation selection; restores the best weights at the end.

    The model's phases (:meth:`~tfxdr.models.base.TfxdrModel.training_phases`)
    each train on their own rows; callbacks are shared so that selection and
    logs run across them; the model's own callbacks (a schedule) come first,
    then ``callbacks``; ``validation_callbacks`` come after the validation, so
    their ``on_epoch_end`` finds its score in ``logs["val_selection"]`` (on the
    epochs that validate) and may stop training (``model.stop_training``).
    Epochs end with ``checkpoints/resume.npz``, every one while it is cheap to
    write and otherwise as often as ``checkpoint_overhead`` allows
    (:func:`~tfxdr.resume.checkpoint_due`); ``resume`` continues from it.
    Instances per second count every training instance.

    Raises:
        TrainingError: a loss term or an updated weight became NaN or infinite;
            the checkpoints of earlier epochs are intact.
        TrainingInterrupted: SIGTERM or SIGINT; a checkpoint of the step where
            training stopped was written first.
    """
    epochs = config.epochs
    checkpoint_dir = Path(run_dir) / CHECKPOINT_DIR
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    resume_path = checkpoint_dir / RESUME_FILE
    phases = model.training_phases(epochs)
    for phase in phases:
        if not task.num_train_examples(data, phase.domains):
            which = ", ".join(phase.domains) if phase.domains else "any domain"
            raise DataError(f"the training split has no rows of {which} left to train on "
                            "(see the config's train_domains and target_fraction)")
    batches = [int(task.train_dataset(data, config.batch_size, seed, phase.domains)
                   .cardinality()) for phase in phases]
    firsts = [0] + [phase.last_epoch for phase in phases[:-1]]
    total_steps = sum(n * (phase.last_epoch - first)
                      for n, phase, first in zip(batches, phases, firsts))
    extra = model.training_callbacks(total_steps if min(batches) >= 0 else None)
    extra += list(callbacks or [])
    stopper = StopAtStepBoundary()
    selection = ValidationSelection(lambda: task.evaluate(model, data, "val"),
                                    lambda metrics: task.selection_score(metrics, data),
                                    checkpoint_dir, config.eval_every, config.patience, epochs,
                                    phases, stopper)
    history = HistoryWriter(Path(run_dir) / "history.csv", selection, stopper)
    steps = StepLossWriter(Path(run_dir) / "steps.csv", model.per_batch_metrics)
    progress = {"epoch": 0, "step": 0, "done": False, "epochs_run": 0, "examples": 0,
                "train_seconds": 0.0, "checkpoint_seconds": 0.0}
    if resume:
        record = load_training_state(model, resume_path)
        progress = {"checkpoint_seconds": 0.0, **record["progress"]}
        selection.load_state(record["selection"])
        history.load_state(record["history"])
        steps.load_state(record["steps"])

    last = {"seconds": None, "ended": time.perf_counter()}  # this process's last checkpoint

    def checkpoint() -> None:
        started = time.perf_counter()
        save_training_state(model, resume_path, {
            "progress": progress, "selection": selection.state(), "history": history.state(),
            "steps": steps.state()})
        last.update(seconds=time.perf_counter() - started, ended=time.perf_counter())
        progress["checkpoint_seconds"] += last["seconds"]

    # A worker of a cluster stopping alone would leave the others waiting in the next
    # step's all-reduce: a signal ends it at once, and the cluster resumes from the
    # chief's last epoch.
    multi_worker = isinstance(getattr(model, "distribute_strategy", None),
                              tf.distribute.MultiWorkerMirroredStrategy)
    with stopper.handling_signals(enabled=not multi_worker):
        while progress["epoch"] < epochs and not progress["done"]:
            epoch, skip = progress["epoch"], progress["step"]
            index = next(i for i, phase in enumerate(phases) if epoch < phase.last_epoch)
            model.start_phase(phases[index])
            dataset = task.train_dataset(data, config.batch_size, epoch_seed(seed, epoch),
                                         phases[index].domains)
            now = list(extra)
            if skip:
                dataset = dataset.skip(skip)
                now.append(_RestoreTrackers([keras.ops.convert_to_numpy(v) for m in model.metrics
                                             for v in m.variables]))
            stopper.batches = batches[index] - skip if batches[index] >= 0 else 0
            steps.offset = skip
            started, validating = time.perf_counter(), selection.seconds
            try:
                model.fit(dataset, initial_epoch=epoch, epochs=epoch + 1, verbose=verbose,
                          shuffle=False, callbacks=[*now, stopper, selection,
                                                    *(validation_callbacks or []), history,
                                                    steps, RunProgbar(epochs)])
            except tf.errors.InvalidArgumentError as error:
                steps.flush()
                raise _divergence(error, steps) from None
            progress["train_seconds"] += (time.perf_counter() - started
                                          - (selection.seconds - validating))
            if stopper.stopped_mid_epoch:
                progress["step"] = skip + stopper.steps_run
                progress["examples"] += stopper.steps_run * config.batch_size
                checkpoint()
                raise _interrupted(stopper, epoch, progress["step"], batches[index])
            progress["examples"] += (task.num_train_examples(data, phases[index].domains)
                                     - skip * config.batch_size)
            progress.update(epoch=epoch + 1, step=0, epochs_run=progress["epochs_run"] + 1,
                            done=bool(model.stop_training))
            if (progress["done"] or progress["epoch"] == epochs or stopper.requested
                    or checkpoint_due(time.perf_counter() - last["ended"], last["seconds"],
                                      checkpoint_overhead)):
                checkpoint()
            if stopper.requested:
                raise _interrupted(stopper, epoch + 1, 0, batches[index])
    save_weights(model, checkpoint_dir / LAST_WEIGHTS)
    load_weights(model, checkpoint_dir / BEST_WEIGHTS)
    seconds = progress["train_seconds"]  # training only: validation passes excluded
    return FitResult(
        best_epoch=selection.best_epoch,
        best_score=selection.best_score,
        validation=selection.best_metrics,
        epochs_run=progress["epochs_run"],
        train_seconds=seconds,
        examples_per_second=progress["examples"] / seconds if seconds > 0 else 0.0,
        checkpoint_seconds=progress["checkpoint_seconds"],
    )


def _divergence(error: tf.errors.InvalidArgumentError, steps: StepLossWriter) -> Exception:
    """A non-finite guard's error as a one-line TrainingError; other errors unchanged."""
    where = f"epoch {steps.epoch}, step {steps.step + 1}"
    for marker, what in (
            (NON_FINITE, "loss term {} is not finite at {}; no update with it was applied"),
            (NON_FINITE_WEIGHT, "weight {} is not finite after the update at {}")):
        if marker in error.message:
            name = error.message.split(marker, 1)[1].split(":")[0].strip()
            return TrainingError(f"training diverged: {what.format(name, where)}",
                                 field="learning_rate")
    return error


def _interrupted(stopper: StopAtStepBoundary, epoch: int, step: int,
                 batches: int) -> TrainingInterrupted:
    name = signal.Signals(stopper.signal_number).name
    where = (f"after epoch {epoch}" if step == 0
             else f"at epoch {epoch + 1}, step {step} of {batches}")
    return TrainingInterrupted(f"{name}: training stopped {where}; a checkpoint was written",
                               stopper.signal_number)
