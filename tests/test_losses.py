"""Loss terms against values computed by hand."""

import math

import numpy as np
import pytest

from tfxdr.layers import GaussianSample
from tfxdr.losses import kl_standard_normal, multinomial_log_likelihood


def test_multinomial_log_likelihood_by_hand():
    # logits [0, ln 2, ln 3] -> softmax [1/6, 2/6, 3/6]; clicks on items 1 and 2:
    # log(2/6) + log(3/6) = log(1/3) + log(1/2) = -1.791759...
    logits = np.array([[0.0, math.log(2), math.log(3)]], dtype=np.float32)
    clicks = np.array([[0.0, 1.0, 1.0]], dtype=np.float32)
    value = np.asarray(multinomial_log_likelihood(clicks, logits))
    assert value.shape == (1,)
    assert value[0] == pytest.approx(math.log(1 / 3) + math.log(1 / 2), abs=1e-6)


def test_kl_unit_variance_is_half_squared_norm():
    mean = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(np.asarray(kl_standard_normal(mean)), [12.5, 0.0], atol=1e-6)


def test_kl_with_log_variance_by_hand():
    # One dimension, mean 1, variance e: 0.5 * (e + 1 - 1 - 1) = 0.5 * (e - 1) = 0.859141
    mean = np.array([[1.0]], dtype=np.float32)
    log_var = np.array([[1.0]], dtype=np.float32)
    value = np.asarray(kl_standard_normal(mean, log_var))[0]
    assert value == pytest.approx(0.5 * (math.e - 1.0), abs=1e-6)
    # The posterior equal to the prior has zero divergence.
    zero = np.asarray(kl_standard_normal(np.zeros((1, 3), np.float32), np.zeros((1, 3), np.float32)))
    assert zero[0] == pytest.approx(0.0, abs=1e-7)


def test_gaussian_sample_mean_at_inference_unit_noise_in_training():
    mean = np.full((20000, 2), 3.0, dtype=np.float32)
    layer = GaussianSample(seed=3)
    np.testing.assert_array_equal(np.asarray(layer(mean, training=False)), mean)
    draws = np.asarray(layer(mean, training=True))
    assert draws.mean() == pytest.approx(3.0, abs=0.03)
    assert draws.std() == pytest.approx(1.0, abs=0.03)
    scaled = np.asarray(layer(mean, np.full_like(mean, math.log(4.0)), training=True))
    assert scaled.std() == pytest.approx(2.0, abs=0.05)
