"""Bi-interaction pooling (NFM; DADIN Eq. 7-8): all pairwise products of field embeddings."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfxdr")
class BiInteractionPooling(keras.layers.Layer):
    """sum_{i<j} (c_i m_i) * (c_j m_j) over F field embeddings, in O(F d).

    Computed as 0.5 * ((sum_i c_i m_i)^2 - sum_i (c_i m_i)^2).  DADIN's Eq. 8
    prints an absolute value around this; Eq. 7, which it restates, has none, and
    neither has NFM, so ``absolute`` defaults to False.

    Args:
        field_weights: learn a scale c_i per field (DADIN's C_m); off gives NFM.
        absolute: take the absolute value, as printed in DADIN's Eq. 8.

    Call args:
        fields: [B, F, d] field embeddings.

    Returns:
        [B, d].

    Reference: He and Chua. Neural Factorization Machines for Sparse Predictive
    Analytics. SIGIR 2017.
    """

    def __init__(self, field_weights: bool = True, absolute: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.field_weights = field_weights
        self.absolute = absolute

    def build(self, fields_shape):
        if self.field_weights:
            self.scales = self.add_weight(shape=(int(fields_shape[1]),), initializer="ones",
                                          name="field_scales")

    def call(self, fields):
        if self.field_weights:
            fields = fields * self.scales[None, :, None]
        square_of_sum = ops.square(ops.sum(fields, axis=1))
        sum_of_squares = ops.sum(ops.square(fields), axis=1)
        pooled = 0.5 * (square_of_sum - sum_of_squares)
        return ops.abs(pooled) if self.absolute else pooled

    def get_config(self):
        return {**super().get_config(), "field_weights": self.field_weights,
                "absolute": self.absolute}
