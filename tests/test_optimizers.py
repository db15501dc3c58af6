"""FusedAdam: Keras's Adam equations in TensorFlow's one fused kernel."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxdr.config import AdamUpdateConfig
from tfxdr.errors import ConfigError
from tfxdr.optimizers import FusedAdam


def test_fused_adam_follows_keras_adam_on_dense_gradients():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(6, 3)).astype("float32")
    variables = [keras.Variable(start) for _ in range(2)]
    optimizers = [keras.optimizers.Adam(0.01), FusedAdam(0.01)]
    for optimizer, variable in zip(optimizers, variables):
        optimizer.build([variable])
    for _ in range(5):
        gradient = tf.constant(rng.normal(size=(6, 3)).astype("float32"))
        for optimizer, variable in zip(optimizers, variables):
            optimizer.apply([gradient], [variable])
    np.testing.assert_allclose(variables[1].numpy(), variables[0].numpy(), rtol=1e-5, atol=1e-6)
    assert np.abs(variables[1].numpy() - start).min() > 1e-3  # every weight moved
    assert int(optimizers[1].iterations.numpy()) == 5


def test_fused_adam_squares_the_sum_of_a_sparse_gradients_repeated_rows():
    # Row 1 gets 1 and then 2 (an item two users clicked): its gradient is 3.
    gradient = tf.IndexedSlices(tf.constant([[1.0, 1.0], [2.0, 2.0]]), tf.constant([1, 1]),
                                tf.constant([4, 2]))
    variable = keras.Variable(np.zeros((4, 2), "float32"))
    optimizer = FusedAdam(0.1)
    optimizer.build([variable])
    optimizer.apply([gradient], [variable])
    # m = 0.1 * 3, v = 0.001 * 3^2, step 0.1 sqrt(1 - 0.999) / (1 - 0.9) m / (sqrt(v) + 1e-7)
    m, v = 0.3, 0.009
    expected = -0.1 * np.sqrt(0.001) / 0.1 * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(optimizer._velocities[0].numpy()[1], [v, v], rtol=1e-4)
    np.testing.assert_allclose(variable.numpy()[1], [expected, expected], rtol=1e-4)
    np.testing.assert_array_equal(variable.numpy()[[0, 2, 3]], 0.0)
    # Keras's Adam squares the parts one by one: v = 0.001 * (1 + 4).
    keras_variable = keras.Variable(np.zeros((4, 2), "float32"))
    keras_adam = keras.optimizers.Adam(0.1)
    keras_adam.build([keras_variable])
    keras_adam.apply([gradient], [keras_variable])
    np.testing.assert_allclose(keras_adam._velocities[0].numpy()[1], [0.005, 0.005], rtol=1e-4)


def test_fused_adam_round_trips_through_keras_serialization():
    optimizer = FusedAdam(0.003, beta_2=0.98)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is FusedAdam
    assert restored.get_config() == optimizer.get_config()


def test_adam_update_auto_fuses_on_bags_or_large_catalogues():
    auto = AdamUpdateConfig()
    assert [auto.fuses_adam(9_999, False), auto.fuses_adam(10_000, False),
            auto.fuses_adam(100, True)] == [False, True, True]
    assert not AdamUpdateConfig("keras").fuses_adam(10_000, True)
    assert AdamUpdateConfig("fused").fuses_adam(100, False)
    with pytest.raises(ConfigError, match="adam_update"):
        AdamUpdateConfig("lazy").validate()


def test_amsgrad_takes_keras_update_of_the_summed_sparse_gradient():
    gradient = tf.IndexedSlices(tf.constant([[1.0], [2.0]]), tf.constant([0, 0]),
                                tf.constant([2, 1]))
    variable = keras.Variable(np.zeros((2, 1), "float32"))
    optimizer = FusedAdam(0.1, amsgrad=True)
    optimizer.build([variable])
    optimizer.apply([gradient], [variable])
    # v = 0.001 * (1 + 2)^2, not 0.001 * (1 + 4).
    np.testing.assert_allclose(optimizer._velocities[0].numpy()[:, 0], [0.009, 0.0], rtol=1e-4)
