"""Training callbacks: per-step loss values recovered from Keras' running means."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfxdr.training import StepLossWriter


class _Echo(keras.Model):
    """Reports each batch's first value as its 'loss', through a running mean."""

    per_batch_metrics = ("loss",)

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
              callbacks=[StepLossWriter(path)])
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
