"""Candidate-aware attention pooling of a behaviour sequence (DIN; DADIN Eq. 2-3)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfxdr")
class AttentionPooling(keras.layers.Layer):
    """Pools history embeddings with softmax weights that depend on the candidate.

    score_t = h^T ReLU(W [r_t || q || p || r_t * q]) for every history item r_t,
    candidate q and optional context p (the user), then a = sum_t softmax(score)_t r_t
    over the valid positions.  A row whose history is empty pools to zeros.

    Args:
        hidden_units: rows of W (default: the embedding size, as in the paper).

    Call args:
        history: [B, T, d] embeddings of the behaviour sequence.
        query: [B, d] candidate embedding.
        mask: [B, T] bool, True at real (non-padding) positions.
        context: optional [B, d] extra input to every score (DADIN's p_k).
        return_weights: also return the [B, T] attention weights.

    Example:
        >>> pooled = AttentionPooling()(history_emb, candidate_emb, mask=ids > 0)

    Reference: Zhou et al. Deep Interest Network for Click-Through Rate
    Prediction. KDD 2018.
    """

    def __init__(self, hidden_units: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units

    def build(self, history_shape, query_shape=None, mask_shape=None, context_shape=None):
        dim = int(history_shape[-1])
        # Holds W and its bias; call() applies them block-wise, then the ReLU.
        self.projection = keras.layers.Dense(self.hidden_units or dim, name="W")
        width = 4 * dim if context_shape is not None else 3 * dim
        self.projection.build((None, None, width))
        self.score = keras.layers.Dense(1, use_bias=False, name="h")
        self.score.build((None, None, self.hidden_units or dim))

    def call(self, history, query, mask, context=None, return_weights=False):
        # W [r_t || q || p || r_t * q] splits into per-step and per-row blocks; the
        # q and p blocks are computed once per row instead of once per step.
        dim = int(history.shape[-1])
        kernel = self.projection.kernel
        per_row = ops.matmul(query, kernel[dim:2 * dim]) + self.projection.bias
        if context is not None:
            per_row = per_row + ops.matmul(context, kernel[2 * dim:3 * dim])
        per_step = (ops.matmul(history, kernel[:dim])
                    + ops.matmul(history * ops.expand_dims(query, 1), kernel[-dim:]))
        hidden = ops.relu(per_step + ops.expand_dims(per_row, 1))
        scores = ops.squeeze(self.score(hidden), -1)
        mask = ops.cast(mask, "bool")
        scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1) * ops.cast(mask, scores.dtype)
        pooled = ops.sum(ops.expand_dims(weights, -1) * history, axis=1)
        return (pooled, weights) if return_weights else pooled

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units}
