"""Loss terms against values computed by hand."""

import math

import numpy as np
import pytest

from tfxdr.layers import GaussianSample
from tfxdr.losses import kl_standard_normal, multinomial_log_likelihood
from tfxdr.ops import masked_mean


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


def test_logistic_and_square_likelihoods_by_hand():
    from tfxdr.losses import reconstruction_log_likelihood

    clicks = np.array([[1.0, 0.0]], dtype=np.float32)
    logits = np.array([[0.0, math.log(3.0)]], dtype=np.float32)
    # sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4: log(1/2) + log(1 - 3/4) = log(1/8)
    logistic = np.asarray(reconstruction_log_likelihood("logistic", clicks, logits))[0]
    assert logistic == pytest.approx(math.log(1 / 8), abs=1e-5)
    # -( (1 - 0)^2 + (0 - ln 3)^2 )
    square = np.asarray(reconstruction_log_likelihood("square", clicks, logits))[0]
    assert square == pytest.approx(-(1 + math.log(3.0) ** 2), abs=1e-5)
    with pytest.raises(ValueError, match="unknown reconstruction loss 'l1': expected one of "
                                         "multinomial, logistic, square"):
        reconstruction_log_likelihood("l1", clicks, logits)


def test_gan_losses_by_hand():
    from tfxdr.losses import gan_discriminator_loss, gan_generator_loss

    real = np.array([[0.0]], dtype=np.float32)       # D(real) = 1/2
    fake = np.array([[math.log(3.0)]], dtype=np.float32)  # D(fake) = 3/4
    # -log(1/2) - log(1 - 3/4) = log 2 + log 4 = log 8
    assert np.asarray(gan_discriminator_loss("log", real, fake))[0] == pytest.approx(
        math.log(8.0), abs=1e-5)
    # non-saturating generator: -log(3/4)
    assert np.asarray(gan_generator_loss("log", fake))[0] == pytest.approx(
        -math.log(0.75), abs=1e-5)
    # least squares on raw outputs: (0 - 1)^2 + (ln 3)^2 and (ln 3 - 1)^2
    assert np.asarray(gan_discriminator_loss("lsq", real, fake))[0] == pytest.approx(
        1 + math.log(3.0) ** 2, abs=1e-5)
    assert np.asarray(gan_generator_loss("lsq", fake))[0] == pytest.approx(
        (math.log(3.0) - 1) ** 2, abs=1e-5)


def test_intra_class_loss_readings():
    from tfxdr.models.dadin import intra_class_loss

    # eq22: alpha L0 + (1 - alpha) L1 = 0.25 * 2 + 0.75 * 4 = 3.5
    assert intra_class_loss(2.0, 4.0, alpha=0.25) == pytest.approx(3.5)
    # eq21: alpha (L0 + (1 - alpha) L1) = 0.25 * (2 + 3) = 1.25
    assert intra_class_loss(2.0, 4.0, 0.25, "eq21") == pytest.approx(1.25)
    with pytest.raises(ValueError, match="loss form 'eq20' is invalid: expected eq22 or eq21"):
        intra_class_loss(2.0, 4.0, 0.25, "eq20")


def test_masked_mean_averages_the_selected_rows_and_is_zero_when_none_are():
    values = np.array([1.0, 2.0, 4.0], np.float32)
    # (1 + 4) / 2
    assert float(masked_mean(values, np.array([True, False, True]))) == 2.5
    assert float(masked_mean(values, np.zeros(3, bool))) == 0.0
    # Weights instead of a mask: (0.5 * 1 + 1 * 4) / 1.5 = 3
    assert float(masked_mean(values, np.array([0.5, 0.0, 1.0], np.float32))) == pytest.approx(3.0)


def test_masked_mean_broadcasts_a_sequence_mask_over_the_vector_axis():
    # [B=2, T=3, d=2]; the mask keeps positions 0 and 2 of row 0 and none of row 1.
    values = np.array([[[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]],
                       [[5.0, 50.0], [6.0, 60.0], [7.0, 70.0]]], np.float32)
    mask = np.array([[True, False, True], [False, False, False]])
    pooled = np.asarray(masked_mean(values, mask[..., None], axis=1))
    # Row 0: ((1, 10) + (3, 30)) / 2 = (2, 20); row 1 has nothing: zeros, not NaN.
    np.testing.assert_allclose(pooled, [[2.0, 20.0], [0.0, 0.0]])
    kept = np.asarray(masked_mean(values, mask[..., None], axis=1, keepdims=True))
    assert kept.shape == (2, 1, 2)


def test_next_item_losses_by_hand():
    from tfxdr.losses import bpr_mean_negative, sampled_binary_crossentropy

    def softplus(x):
        return math.log1p(math.exp(x))

    positive, negatives = np.array([1.5], np.float32), np.array([[2.0, -1.0, 0.5]], np.float32)
    # Eq. 12 averages the scores (to 0.5) before the sigmoid: -log s(1.5) - log(1 - s(0.5)).
    assert float(bpr_mean_negative(positive, negatives)[0]) == pytest.approx(
        softplus(-1.5) + softplus(0.5), rel=1e-5)
    # Per negative: the high-scoring 2.0 is penalised on its own.
    assert float(sampled_binary_crossentropy(positive, negatives)[0]) == pytest.approx(
        softplus(-1.5) + (softplus(2.0) + softplus(-1.0) + softplus(0.5)) / 3, rel=1e-5)


def test_gaussian_mmd_by_hand():
    import tensorflow as tf

    from tfxdr.losses import gaussian_mmd

    def sets(*rows):
        return tf.constant(np.array(rows, np.float32)[..., None])  # [B, n, 1]

    x, y = sets([0.0]), sets([1.0])
    assert float(gaussian_mmd(x, y)[0]) == pytest.approx(2 - 2 * math.exp(-0.5), rel=1e-5)
    assert float(gaussian_mmd(x, y, bandwidths=(1.0, 2.0))[0]) == pytest.approx(
        4 - 2 * (math.exp(-0.5) + math.exp(-1 / 8)), rel=1e-5)
    # x = {0, 2}, y = {1}: mean k(x, x') over 4 pairs, k(y, y) = 1, k(x, y) = e^-1/2 twice.
    pair = (2 + 2 * math.exp(-2)) / 4 + 1 - 2 * math.exp(-0.5)
    far = sets([1.0, 100.0])  # the second member masked out changes nothing
    value = gaussian_mmd(sets([0.0, 2.0]), far, y_mask=tf.constant([[1.0, 0.0]]))
    assert float(value[0]) == pytest.approx(pair, rel=1e-5)
    assert float(gaussian_mmd(far, far)[0]) == pytest.approx(0.0, abs=1e-6)
    assert float(gaussian_mmd(x, y, y_mask=tf.constant([[0.0]]))[0]) == 0.0  # empty set
    with tf.GradientTape() as tape:  # d/dx (2 - 2 exp(-(x - y)^2 / 2)) = 2 (x - y) e^-1/2 at 0, 1
        tape.watch(x)
        value = gaussian_mmd(x, y)
    assert float(tape.gradient(value, x)[0, 0, 0]) == pytest.approx(-2 * math.exp(-0.5), rel=1e-5)
    with pytest.raises(ValueError, match=r"bandwidths=\(0.0,\) is invalid"):
        gaussian_mmd(x, y, bandwidths=(0.0,))
