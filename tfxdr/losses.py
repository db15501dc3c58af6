"""Loss terms shared by the models, each per example so callers choose the reduction."""

from __future__ import annotations

import tensorflow as tf
from keras import ops


def multinomial_log_likelihood(clicks, logits):
    """sum_i x_i log softmax(logits)_i per example (Multi-VAE, D2D-TM Eq. 2-3).

    Args:
        clicks: [B, I] click counts or binary clicks.
        logits: [B, I] unnormalised scores.

    Returns:
        [B] log-likelihoods (<= 0).
    """
    return ops.sum(ops.log_softmax(logits, axis=-1) * clicks, axis=-1)


def _at_clicks(values, positions, present):
    """Per example, the sum of ``values`` [B, I] at a bag's clicked columns."""
    picked = ops.take_along_axis(values, ops.cast(positions, "int32"), axis=-1)
    return ops.sum(ops.where(present, picked, 0.0), axis=-1)


def bag_multinomial_log_likelihood(positions, present, logits):
    """:func:`multinomial_log_likelihood` of the binary clicks given as a bag
    (``positions``, ``present``: [B, T], see :meth:`tfxdr.layers.MultiHot.bag`):
    the clicked columns' logits less clicks x logsumexp(logits), which is the
    log-softmax read at the clicked columns without building the [B, I]
    log-softmax (one fewer full-width pass forward and backward)."""
    clicks = ops.sum(ops.cast(present, logits.dtype), axis=-1)
    return _at_clicks(logits, positions, present) - clicks * ops.logsumexp(logits, axis=-1)


def kl_standard_normal(mean, log_var=None):
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) per example.

    With ``log_var`` None the posterior has unit variance (D2D-TM), and the KL
    reduces to ``0.5 * ||mean||^2``.
    """
    if log_var is None:
        return 0.5 * ops.sum(ops.square(mean), axis=-1)
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)


def logistic_log_likelihood(clicks, logits):
    """sum_i [x_i log s_i + (1 - x_i) log(1 - s_i)], s = sigmoid(logits), per example."""
    return -ops.sum(ops.binary_crossentropy(clicks, logits, from_logits=True), axis=-1)


def gaussian_log_likelihood(clicks, logits):
    """-sum_i (x_i - logits_i)^2 per example: the square loss as a log-likelihood."""
    return -ops.sum(ops.square(clicks - logits), axis=-1)


RECONSTRUCTION_LIKELIHOODS = {
    "multinomial": multinomial_log_likelihood,
    "logistic": logistic_log_likelihood,
    "square": gaussian_log_likelihood,
}


def bag_reconstruction_log_likelihood(kind: str, positions, present, logits):
    """:func:`reconstruction_log_likelihood` of binary clicks given as a bag: the
    logistic one is sum_i log(1 - s_i) plus the logits at the clicks (log s - log(1
    - s) = logit), the square one sum_i l_i^2 - 2 l at the clicks + the clicks."""
    if kind == "multinomial":
        return bag_multinomial_log_likelihood(positions, present, logits)
    if kind == "logistic":
        return (ops.sum(ops.log_sigmoid(-logits), axis=-1)
                + _at_clicks(logits, positions, present))
    if kind == "square":
        clicks = ops.sum(ops.cast(present, logits.dtype), axis=-1)
        return -(ops.sum(ops.square(logits), axis=-1)
                 - 2.0 * _at_clicks(logits, positions, present) + clicks)
    return reconstruction_log_likelihood(kind, None, logits)  # the unknown-kind error


def reconstruction_log_likelihood(kind: str, clicks, logits):
    """The log-likelihood named by ``kind`` (multinomial, logistic or square), per example."""
    try:
        return RECONSTRUCTION_LIKELIHOODS[kind](clicks, logits)
    except KeyError:
        raise ValueError(f"unknown reconstruction loss {kind!r}: expected one of "
                         f"{', '.join(RECONSTRUCTION_LIKELIHOODS)}") from None


def gan_discriminator_loss(kind: str, real_logits, fake_logits):
    """Discriminator loss per example: log loss (real -> 1, fake -> 0) or least squares.

    ``log``: -log D(real) - log(1 - D(fake)) with D = sigmoid(logits) (D2D-TM Eq. 4-5);
    ``lsq``: (D(real) - 1)^2 + D(fake)^2 on the raw outputs (least-squares GAN).
    """
    real_logits, fake_logits = ops.squeeze(real_logits, -1), ops.squeeze(fake_logits, -1)
    if kind == "log":
        return (ops.binary_crossentropy(ops.ones_like(real_logits), real_logits, from_logits=True)
                + ops.binary_crossentropy(ops.zeros_like(fake_logits), fake_logits,
                                          from_logits=True))
    if kind == "lsq":
        return ops.square(real_logits - 1.0) + ops.square(fake_logits)
    raise ValueError(f"unknown GAN loss {kind!r}: expected log or lsq")


def gan_generator_loss(kind: str, fake_logits):
    """Generator loss per example: -log D(fake) (non-saturating) or (D(fake) - 1)^2."""
    fake_logits = ops.squeeze(fake_logits, -1)
    if kind == "log":
        return ops.binary_crossentropy(ops.ones_like(fake_logits), fake_logits, from_logits=True)
    if kind == "lsq":
        return ops.square(fake_logits - 1.0)
    raise ValueError(f"unknown GAN loss {kind!r}: expected log or lsq")


def gradient_penalty(critic, real, fake, alpha):
    """The improved WGAN's penalty per example: (||grad_x critic(x)|| - 1)^2 at
    x = alpha * real + (1 - alpha) * fake.

    Args:
        critic: a callable [B, d] -> [B, 1] (or [B]).
        real, fake: [B, d] paired examples of the two distributions.
        alpha: [B, 1] interpolation weights, uniform in [0, 1] per example.

    The norm is sqrt(sum + 1e-12): finite where the gradient is zero.
    """
    mixed = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed)
    gradient = tape.gradient(scores, mixed)
    norm = ops.sqrt(ops.sum(ops.square(gradient), axis=-1) + 1e-12)
    return ops.square(norm - 1.0)


def bpr_mean_negative(positive, negatives):
    """-log s(positive) - log(1 - s(mean of negatives)) per position (RecGURU Eq. 12):
    the negatives' scores are averaged before the sigmoid.

    Args:
        positive: [...] scores of the next items.
        negatives: [..., n] scores of n sampled items.
    """
    mean = ops.mean(negatives, axis=-1)
    return (ops.binary_crossentropy(ops.ones_like(positive), positive, from_logits=True)
            + ops.binary_crossentropy(ops.zeros_like(mean), mean, from_logits=True))


def sampled_binary_crossentropy(positive, negatives):
    """-log s(positive) - mean_j log(1 - s(negative_j)) per position: each sampled
    item is pushed down on its own (SASRec's loss with one negative).

    Args:
        positive: [...] scores of the next items.
        negatives: [..., n] scores of n sampled items.
    """
    return (ops.binary_crossentropy(ops.ones_like(positive), positive, from_logits=True)
            + ops.mean(ops.binary_crossentropy(ops.zeros_like(negatives), negatives,
                                               from_logits=True), axis=-1))


def _mean_kernel(a, b, a_mask, b_mask, bandwidths):
    """Mean over the member pairs of sum_s exp(-||a_i - b_j||^2 / (2 s^2)), per example."""
    distances = (ops.sum(ops.square(a), axis=-1)[:, :, None]
                 + ops.sum(ops.square(b), axis=-1)[:, None, :]
                 - 2.0 * ops.matmul(a, ops.transpose(b, (0, 2, 1))))
    distances = ops.maximum(distances, 0.0)  # rounding can make a zero distance negative
    kernel = sum(ops.exp(-distances / (2.0 * s * s)) for s in bandwidths)
    pairs = a_mask[:, :, None] * b_mask[:, None, :]
    return ops.sum(kernel * pairs, axis=(1, 2)) / ops.maximum(ops.sum(pairs, axis=(1, 2)), 1.0)


def gaussian_mmd(x, y, x_mask=None, y_mask=None, bandwidths=(1.0,)):
    """Squared maximum mean discrepancy between two sets per example, Gaussian kernels.

    The biased estimate mean k(x, x') + mean k(y, y') - 2 mean k(x, y) with
    k(a, b) = sum over ``bandwidths`` s of exp(-||a - b||^2 / (2 s^2)): a sum of
    kernels of several widths needs no width tuned to the embeddings' scale.

    Args:
        x: [B, n, d] one set per example; y: [B, m, d] the other.
        x_mask, y_mask: [B, n] / [B, m], 1 for members (None: all are); an
            example where either set is empty gets 0.
        bandwidths: the kernels' standard deviations s.

    Returns:
        [B] discrepancies (>= 0 up to rounding).
    """
    if not bandwidths or min(bandwidths) <= 0:
        raise ValueError(f"bandwidths={tuple(bandwidths)!r} is invalid: expected positive "
                         "standard deviations")
    x_mask = ops.ones(ops.shape(x)[:2], x.dtype) if x_mask is None else ops.cast(x_mask, x.dtype)
    y_mask = ops.ones(ops.shape(y)[:2], y.dtype) if y_mask is None else ops.cast(y_mask, y.dtype)
    both = ops.cast((ops.sum(x_mask, axis=1) > 0) & (ops.sum(y_mask, axis=1) > 0), x.dtype)
    return both * (_mean_kernel(x, x, x_mask, x_mask, bandwidths)
                   + _mean_kernel(y, y, y_mask, y_mask, bandwidths)
                   - 2.0 * _mean_kernel(x, y, x_mask, y_mask, bandwidths))
