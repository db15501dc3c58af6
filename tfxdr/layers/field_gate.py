"""Attention gates over fields (DAAN Eq. 1): a scalar importance a_j for each field."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfxdr")
class FieldGate(keras.layers.Layer):
    """g_j = a_j e_j with a_j = sigmoid(MLP(e_j)).

    By default each field has its own MLP, the paper's "attention unit for
    feature embeddings e^j", all computed in one batched contraction.  Eq. 1
    indexes the weights by network only (W^c, W^d); ``per_field=False`` reads
    it literally, one MLP scoring every field of a network.  Eq. 1 writes
    sigma for every layer, so the hidden activation defaults to sigmoid.

    Args:
        hidden_units: sizes of the hidden layers (the paper: 64, 32).
        hidden_activation: activation of the hidden layers.
        per_field: one MLP per field (default) or one shared by all fields.

    Call args:
        fields: [B, F, K] field embeddings.

    Returns:
        ([B, F, K] gated embeddings, [B, F] gates in (0, 1)).

    Reference: Qiu et al. Transfer Learning with Domain-aware Attention Network
    for Item Recommendation in E-commerce (2019).
    """

    def __init__(self, hidden_units: tuple[int, ...] = (64, 32),
                 hidden_activation: str = "sigmoid", per_field: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.hidden_activation = hidden_activation
        self.per_field = per_field
        self.activation = keras.activations.get(hidden_activation)

    def build(self, fields_shape):
        num_fields, width = int(fields_shape[1]), int(fields_shape[2])
        sizes = (width,) + self.hidden_units + (1,)
        lead = (num_fields,) if self.per_field else ()
        # Glorot per field: a stacked [F, in, out] kernel would count F into the fans.
        initializer = keras.initializers.VarianceScaling(
            scale=float(num_fields) if self.per_field else 1.0, mode="fan_avg",
            distribution="uniform")
        self.kernels, self.biases = [], []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.kernels.append(self.add_weight(shape=lead + (fan_in, fan_out),
                                                initializer=initializer, name=f"kernel_{i}"))
            self.biases.append(self.add_weight(shape=lead + (fan_out,), initializer="zeros",
                                               name=f"bias_{i}"))

    def gates(self, fields):
        """[B, F] gates a_j."""
        x = fields
        last = len(self.kernels) - 1
        equation = "bfi,fio->bfo" if self.per_field else "bfi,io->bfo"
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            x = ops.einsum(equation, x, kernel) + bias
            x = ops.sigmoid(x) if i == last else self.activation(x)
        return ops.squeeze(x, -1)

    def call(self, fields):
        gates = self.gates(fields)
        return fields * gates[..., None], gates

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units,
                "hidden_activation": self.hidden_activation, "per_field": self.per_field}
