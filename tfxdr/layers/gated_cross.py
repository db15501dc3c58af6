"""Field gates, then a Deep & Cross tower (DAAN Eq. 1-2): one network of DAAN."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers.deep_cross import DeepCross
from tfxdr.layers.field_gate import FieldGate


@keras.saving.register_keras_serializable(package="tfxdr")
class GatedCrossNetwork(keras.layers.Layer):
    """o = DeepCross(g_1 || ... || g_F), g_j = a_j e_j (Eq. 1-2); ungated: a_j = 1.

    Args:
        gated: gate the fields (off: DAAN's CNAN_2).
        gate_units, gate_activation, gate_per_field: the :class:`FieldGate`.
        cross_layers, fcn_units, projection_dim, dropout: the :class:`DeepCross` tower.
        seed: dropout seed.

    Call args:
        fields: [B, F, K] field embeddings.

    Returns:
        ([B, D] network output, [B, F] gates or None).
    """

    def __init__(self, gated: bool = True, gate_units: tuple[int, ...] = (64, 32),
                 gate_activation: str = "sigmoid", gate_per_field: bool = True,
                 cross_layers: int = 2, fcn_units: tuple[int, ...] = (512, 256),
                 projection_dim: int | None = None, dropout: float = 0.0, seed: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.gated = bool(gated)
        self.gate_units = tuple(int(u) for u in gate_units)
        self.gate_activation = gate_activation
        self.gate_per_field = bool(gate_per_field)
        self.cross_layers = int(cross_layers)
        self.fcn_units = tuple(int(u) for u in fcn_units)
        self.projection_dim = projection_dim
        self.dropout = float(dropout)
        self.seed = seed

    def build(self, fields_shape):
        num_fields, width = int(fields_shape[1]), int(fields_shape[2])
        self.gate = None
        if self.gated:
            self.gate = FieldGate(self.gate_units, self.gate_activation, self.gate_per_field,
                                  name="gate")
            self.gate.build(fields_shape)
        self.tower = DeepCross(self.cross_layers, self.fcn_units, self.projection_dim,
                               self.dropout, self.seed, name="deep_cross")
        self.tower.build((None, num_fields * width))
        self.built = True

    def output_width(self, num_fields: int, field_dim: int) -> int:
        """Width of the output: the FCN's last layer plus the crossed input."""
        return num_fields * field_dim + (self.fcn_units[-1] if self.fcn_units else 0)

    def call(self, fields, training=False):
        gates = None
        if self.gate is not None:
            fields, gates = self.gate(fields)
        flat = ops.reshape(fields, (-1, fields.shape[1] * fields.shape[2]))
        return self.tower(flat, training=training), gates

    def get_config(self):
        return {**super().get_config(), "gated": self.gated, "gate_units": self.gate_units,
                "gate_activation": self.gate_activation, "gate_per_field": self.gate_per_field,
                "cross_layers": self.cross_layers, "fcn_units": self.fcn_units,
                "projection_dim": self.projection_dim, "dropout": self.dropout,
                "seed": self.seed}
