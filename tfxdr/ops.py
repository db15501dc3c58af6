"""Small tensor helpers shared by losses, layers and models."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
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
    if axis is None:
        total, count = _share_of_global_batch(total, count)
    return total / ops.maximum(count, 1.0)


def _share_of_global_batch(total, count):
    """A mean over the whole batch is a mean over every replica's rows: each replica
    divides its own sum by the count of all replicas, times the number of replicas
    (the optimizer sums the replicas' gradients, the trainer averages their logs,
    and both divide by that number again).  One replica: unchanged."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return total, count
    count = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(count))
    return total * float(context.num_replicas_in_sync), count


def l2_normalize(x):
    """Rows scaled to unit L2 norm (an all-zero row stays zero)."""
    return x / ops.maximum(ops.norm(x, axis=-1, keepdims=True), 1e-12)


def dense_on_bag(layer, positions, weights):
    """``layer(x)`` for the vector x that is ``weights[b, t]`` at column
    ``positions[b, t]`` of row b and 0 elsewhere, without building x: the sum of
    the kernel rows of the bag's entries (a zero weight leaves an entry out),
    plus the bias, through the activation.  ``layer`` is a built Dense layer;
    the cost follows the entries, not the width of x, and the kernel's gradient
    is a sparse one of the rows read."""
    entries = tf.where(tf.not_equal(weights, 0))
    rows = tf.gather(layer.kernel, tf.gather_nd(positions, entries))
    summed = tf.math.unsorted_segment_sum(
        rows * tf.gather_nd(weights, entries)[:, None], entries[:, 0],
        num_segments=tf.shape(positions, out_type=tf.int64)[0])
    if layer.use_bias:
        summed = summed + layer.bias
    return layer.activation(summed)


def exclude_positions(scores, positions):
    """``scores`` [B, items] with each row's ``positions`` [B, T] (-1: none) set to
    -inf: a scatter of the B x T entries, not a [B, T, items] one-hot."""
    rows = tf.broadcast_to(tf.range(tf.shape(positions)[0])[:, None], tf.shape(positions))
    known = positions >= 0
    indices = tf.stack([tf.boolean_mask(rows, known),
                        tf.boolean_mask(tf.cast(positions, tf.int32), known)], axis=-1)
    return tf.tensor_scatter_nd_update(
        scores, indices, tf.fill(tf.shape(indices)[:1], tf.constant(-np.inf, scores.dtype)))
