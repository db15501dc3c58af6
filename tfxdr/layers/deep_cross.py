"""Deep & Cross tower (DAAN Eq. 2): cross layers, then an FCN, outputs concatenated."""

from __future__ import annotations

import keras
from keras import ops
from keras_rs.layers import FeatureCross


@keras.saving.register_keras_serializable(package="tfxdr")
class DeepCross(keras.layers.Layer):
    """o = FCN(x_L) || x_L where x_{l+1} = x_0 * (W_l x_l + b_l) + x_l.

    The cross layers are ``keras_rs.layers.FeatureCross``.  Eq. 2 is the first
    DCN's cross, x_0 (x_l^T w_l) + b_l + x_l with a weight vector w_l; that is
    FeatureCross with W_l = 1 w_l^T, except that FeatureCross multiplies the
    bias by x_0.  The full-rank W_l here is the later DCN's generalisation
    (``projection_dim`` gives the low-rank W = U V instead).  As in Eq. 2 the
    FCN reads the last cross output (stacked), and the tower returns both.

    Args:
        cross_layers: number of cross layers (the paper: 2).
        hidden_units: FCN sizes (the paper: 512, 256), ReLU.
        projection_dim: rank of each cross kernel; None for full rank.
        dropout: dropout after each FCN layer.
        seed: dropout seed.

    Call args:
        x: [B, D] input features.

    Returns:
        [B, hidden_units[-1] + D] ([B, D] without FCN layers).

    Reference: Wang et al. Deep & Cross Network for Ad Click Predictions. ADKDD 2017.
    """

    def __init__(self, cross_layers: int = 2, hidden_units: tuple[int, ...] = (512, 256),
                 projection_dim: int | None = None, dropout: float = 0.0, seed: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.cross_layers = int(cross_layers)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.projection_dim = projection_dim
        self.dropout = float(dropout)
        self.seed = seed

    def build(self, input_shape):
        width = int(input_shape[-1])
        self.crosses = [FeatureCross(projection_dim=self.projection_dim, name=f"cross_{i}")
                        for i in range(self.cross_layers)]
        for cross in self.crosses:
            cross.build((None, width))
            # FeatureCross creates its Dense layers in build but leaves them unbuilt.
            projected = width
            if self.projection_dim is not None:
                cross.down_proj_dense.build((None, width))
                projected = self.projection_dim
            cross.dense.build((None, projected))
        self.fcn = [keras.layers.Dense(u, activation="relu", name=f"fcn_{i}")
                    for i, u in enumerate(self.hidden_units)]
        for dense in self.fcn:
            dense.build((None, width))
            width = dense.units
        self.dropouts = [keras.layers.Dropout(self.dropout, seed=self.seed + i)
                         for i in range(len(self.hidden_units))]
        self.built = True

    def call(self, x, training=False):
        crossed = x
        for cross in self.crosses:
            crossed = cross(x, crossed)
        if not self.fcn:
            return crossed
        hidden = crossed
        for dense, dropout in zip(self.fcn, self.dropouts):
            hidden = dropout(dense(hidden), training=training)
        return ops.concatenate([hidden, crossed], axis=-1)

    def get_config(self):
        return {**super().get_config(), "cross_layers": self.cross_layers,
                "hidden_units": self.hidden_units, "projection_dim": self.projection_dim,
                "dropout": self.dropout, "seed": self.seed}
