"""Training callbacks: per-step loss values recovered from Keras' running means."""

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.training import StepLossWriter


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
              callbacks=[StepLossWriter(path)])
    steps = pd.read_csv(path)
    assert list(steps.columns) == ["step", "epoch", "loss"]
    assert steps["step"].tolist() == list(range(1, 13))
    assert steps["epoch"].tolist() == [1] * 6 + [2] * 6
    np.testing.assert_allclose(steps["loss"], np.tile(values, 2), rtol=1e-5)
