"""Small tensor helpers shared by losses, layers and models."""

from __future__ import annotations

from keras import ops


def masked_mean(values, mask, axis=None, keepdims: bool = False):
    """Mean of ``values`` over ``axis`` where ``mask`` is true (or weighted by it).

    ``mask`` broadcasts against ``values`` (a [B, T] mask for [B, T, d] values
    needs a trailing axis).  Where nothing is selected the mean is 0, not NaN:
    an empty history pools to zeros, and a batch without a domain's rows adds
    nothing to that domain's loss.
    """
    weights = ops.cast(mask, values.dtype)
    total = ops.sum(values * weights, axis=axis, keepdims=keepdims)
    count = ops.sum(ops.broadcast_to(weights, ops.shape(values)), axis=axis, keepdims=keepdims)
    return total / ops.maximum(count, 1.0)


def l2_normalize(x):
    """Rows scaled to unit L2 norm (an all-zero row stays zero)."""
    return x / ops.maximum(ops.norm(x, axis=-1, keepdims=True), 1e-12)
