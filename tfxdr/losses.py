"""Loss terms shared by the models, each per example so callers choose the reduction."""

from __future__ import annotations

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


def kl_standard_normal(mean, log_var=None):
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) per example.

    With ``log_var`` None the posterior has unit variance (D2D-TM), and the KL
    reduces to ``0.5 * ||mean||^2``.
    """
    if log_var is None:
        return 0.5 * ops.sum(ops.square(mean), axis=-1)
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)
