"""Training callbacks: per-step loss values recovered from Keras' running means, and
validation selection (best epoch, patience, pre-training phases)."""

import h5py
import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from keras import ops

from tfxdr.config import TrainConfig
from tfxdr.errors import TrainingError
from tfxdr.models import Phase, TfxdrModel
from tfxdr.training import (BEST_WEIGHTS, StepLossWriter, ValidationSelection, fit_with_selection,
                            load_weights)


class _Echo(keras.Model):
    """Reports each batch's first value as its 'loss', through a running mean."""

    def __init__(self):
        super().__init__()
        self.tracker = keras.metrics.Mean(name="loss")
        self.w = self.add_weight(shape=(), initializer="zeros")

    @property
    def metrics(self):
        return [self.tracker]

    def train_step(self, data):
        self.tracker.update_state(data[0])
        return {"loss": self.tracker.result()}


def test_step_loss_writer_recovers_each_batch_value(tmp_path):
    values = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0], np.float32)
    model = _Echo()
    model.compile(optimizer="sgd")
    path = tmp_path / "steps.csv"
    model.fit(tf.data.Dataset.from_tensor_slices(values).batch(1), epochs=2, verbose=0,
              shuffle=False, callbacks=[StepLossWriter(path, per_batch=("loss",))])
    steps = pd.read_csv(path)
    assert list(steps.columns) == ["step", "epoch", "loss"]
    assert steps["step"].tolist() == list(range(1, 13))
    assert steps["epoch"].tolist() == [1] * 6 + [2] * 6
    np.testing.assert_allclose(steps["loss"], np.tile(values, 2), rtol=1e-5)


def test_step_loss_writer_keeps_size_weighted_means_as_reported(tmp_path):
    # A compiled loss weighs batches by size: batches of 2, 2 and 1 cannot be undone
    # from the means alone, so they are written as running means, under another name.
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]], np.float32)
    path = tmp_path / "steps.csv"
    history = model.fit(x, np.zeros((5, 1), np.float32), batch_size=2, epochs=1, verbose=0,
                        shuffle=False, callbacks=[StepLossWriter(path)])
    steps = pd.read_csv(path)
    assert list(steps.columns) == ["step", "epoch", "loss_running_mean"]
    assert steps["loss_running_mean"].iloc[-1] == pytest.approx(history.history["loss"][0],
                                                                rel=1e-6)


class _Scripted:
    """Validation that returns the next score of a script and records the epoch it ran at."""

    def __init__(self, scores):
        self.scores = list(scores)
        self.epochs: list[int] = []
        self.epoch = 0

    def evaluate(self):
        self.epochs.append(self.epoch)
        return {"val": {"score": self.scores[len(self.epochs) - 1]}}


class _EpochWeights(keras.callbacks.Callback):
    """Tells the script the current epoch; keeps the weights at the end of each epoch."""

    def __init__(self, script):
        super().__init__()
        self.script = script
        self.weights = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.script.epoch = epoch + 1

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch + 1] = [np.array(w) for w in self.model.weights]


def _fit_with_script(tmp_path, scores, epochs, patience, phases=None, eval_every=1):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    script = _Scripted(scores)
    recorder = _EpochWeights(script)
    selection = ValidationSelection(script.evaluate, lambda m: m["val"]["score"], tmp_path,
                                    eval_every=eval_every, patience=patience,
                                    total_epochs=epochs, phases=phases)
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], np.float32)
    history = model.fit(x, np.array([1.0, 0.0, 2.0], np.float32), epochs=epochs, verbose=0,
                        shuffle=False, callbacks=[recorder, selection])
    return model, script, recorder, selection, history


def test_patience_counts_validations_without_improvement(tmp_path):
    # Scores by epoch: 0.1, 0.3, 0.3 (a tie is no improvement: wait 1), 0.5 (best; the
    # wait restarts), 0.4 (wait 1), 0.5 (tie, wait 2 = patience: stop after epoch 6).
    # Epoch 7's 0.9 is never reached.
    model, script, recorder, selection, history = _fit_with_script(
        tmp_path, [0.1, 0.3, 0.3, 0.5, 0.4, 0.5, 0.9], epochs=10, patience=2)
    assert history.epoch == [0, 1, 2, 3, 4, 5]
    assert script.epochs == [1, 2, 3, 4, 5, 6]
    assert (selection.best_epoch, selection.best_score) == (4, 0.5)
    assert selection.best_metrics == {"val": {"score": 0.5}}
    # The checkpoint holds the weights of the end of epoch 4, not the last ones, and
    # not the optimizer's state (the resume file keeps that).
    with h5py.File(tmp_path / BEST_WEIGHTS) as saved:
        assert "optimizer" not in saved and "layers" in saved
    load_weights(model, tmp_path / BEST_WEIGHTS)
    for kept, saved in zip(recorder.weights[4], model.weights):
        np.testing.assert_array_equal(kept, np.array(saved))
    assert not np.array_equal(recorder.weights[4][0], recorder.weights[6][0])


def test_zero_patience_never_stops_and_eval_every_skips_epochs(tmp_path):
    # Validations after epochs 2, 4 and the last (5), never stopping: 0.2 is the best.
    _, script, _, selection, history = _fit_with_script(
        tmp_path, [0.2, 0.1, 0.0], epochs=5, patience=0, eval_every=2)
    assert len(history.epoch) == 5
    assert script.epochs == [2, 4, 5]
    assert selection.best_epoch == 2


def test_pre_training_phase_is_neither_validated_nor_counted_for_patience(tmp_path):
    # Epochs 1-2 pre-train (no validation); then 0.5 at epoch 3 (best), 0.4 at epoch 4
    # (wait 1 = patience: stop).  Had the pre-training epochs been validated, the script
    # would have stopped training after epoch 2.
    phases = [Phase(2, selects=False), Phase(8)]
    _, script, _, selection, history = _fit_with_script(
        tmp_path, [0.5, 0.4, 0.9], epochs=8, patience=1, phases=phases)
    assert script.epochs == [3, 4]
    assert history.epoch == [0, 1, 2, 3]
    assert (selection.best_epoch, selection.best_score) == (3, 0.5)


def test_selection_stops_on_a_non_finite_logged_value(tmp_path):
    selection = ValidationSelection(lambda: {}, lambda m: 0.0, tmp_path, 1, 0, 3)
    with pytest.raises(TrainingError, match=r"^training diverged: loss=nan at epoch 2$"):
        selection.on_epoch_end(1, {"loss": float("nan")})


class _Line(TfxdrModel):
    """w . x fitted to 1 on numeric inputs; pre-trains 2 epochs on the source's rows."""

    def build(self, input_shape=None):
        super().build(input_shape)
        self.w = self.add_weight(shape=(2,), initializer="ones", name="w")

    def compute_losses(self, data, training=True):
        return {"loss": ops.mean(ops.square(ops.sum(data["x"] * self.w, -1) - 1.0))}

    def training_phases(self, epochs):
        return [Phase(2, ("source",), selects=False), Phase(epochs, ("target",))]


class _PhaseTask:
    """Records the rows each phase asks for; validation follows a script."""

    def __init__(self, scores):
        self.scores = list(scores)
        self.requested = []
        self.validated_at = []

    def train_dataset(self, data, batch_size, seed, domains=None):
        self.requested.append(domains)
        x = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
        return tf.data.Dataset.from_tensor_slices({"x": x}).batch(batch_size)

    def num_train_examples(self, data, domains=None):
        return 2

    def evaluate(self, model, data, part):
        self.validated_at.append(int(model.optimizer.iterations))
        return {"target": {"auc": self.scores[len(self.validated_at) - 1]}}

    def selection_score(self, metrics, data=None):
        return metrics["target"]["auc"]


def test_fit_with_selection_trains_each_phase_on_its_rows_and_selects_after_pre_training(
        tmp_path):
    model = _Line(None, TrainConfig())
    model.build()
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    task = _PhaseTask([0.5, 0.4, 0.9])
    config = TrainConfig(epochs=6, batch_size=2, patience=1)
    result = fit_with_selection(model, task, None, config, seed=0, run_dir=tmp_path, verbose=0)
    # Each phase's length is read once, then each epoch gets its own dataset.
    assert task.requested == [("source",), ("target",)] + [("source",)] * 2 + [("target",)] * 2
    # One step per epoch: validated after epochs 3 and 4 (steps 3, 4), stopped at 4.
    assert task.validated_at == [3, 4]
    assert (result.best_epoch, result.best_score, result.epochs_run) == (3, 0.5, 4)
    assert result.validation == {"target": {"auc": 0.5}}
    history = pd.read_csv(tmp_path / "history.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert history["val/target/auc"].isna().tolist() == [True, True, False, False]
    assert (tmp_path / "checkpoints" / "last.weights.h5").is_file()


def test_progress_bar_numbers_epochs_against_the_whole_run(tmp_path, capsys):
    # The loop calls fit once per epoch; the bar still says "Epoch 3/6", not "Epoch 3/3".
    model = _Line(None, TrainConfig())
    model.build()
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    config = TrainConfig(epochs=6, batch_size=2, patience=1)
    fit_with_selection(model, _PhaseTask([0.5, 0.4]), None, config, seed=0, run_dir=tmp_path,
                       verbose=2)
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert printed == ["Epoch 1/6", "Epoch 2/6", "Epoch 3/6", "Epoch 4/6"]
