"""The feature extractor of DAAN's networks: field gates, then a Deep & Cross tower."""

from __future__ import annotations

import dataclasses
from typing import Literal

import keras
from keras import ops

from tfxdr.config import require
from tfxdr.layers import DeepCross, DomainAwareEmbedding, FieldGate
from tfxdr.layers.field_embedding import history_inputs


@dataclasses.dataclass
class GatedCrossConfig:
    """Hyperparameters of the embeddings and of one gated Deep & Cross network.

    Args:
        shared_dim: shared embedding size of every field (the paper: 64).
        gate_units: hidden sizes of each field's attention unit (64, 32).
        gate_activation: hidden activation of the units (Eq. 1: sigmoid).
        gate_per_field: one attention unit per field (Sec. 2.1: "an attention
            unit for feature embeddings e^j").  False shares one unit across a
            network's fields, the literal reading of Eq. 1's weights W^c, W^d;
            on ML-100K its gates came out equal for every field, and the
            adversarial loss drove the shared network's gates to ~0.004.
        cross_layers: cross layers (2).
        fcn_units: FCN sizes after the crosses (512, 256).
        cross_projection_dim: rank of each cross kernel.  1 (default) is closest
            to Eq. 2, whose cross weight is a vector: W = u v^T here, Eq. 2 being
            u = 1.  0 gives full-rank kernels (the later DCN), which cost
            (F K)^2 weights per layer.
        dropout: dropout after each FCN layer.
        use_histories: embed the source and target click histories as bag
            fields (the paper's "personal behavior" features).
        continuous_buckets: continuous fields (raw ``n_*`` inputs) are bucketed
            into this many quantile buckets of the training data, as the paper
            discretizes its continuous features; 0 uses their categorical field.
    """

    shared_dim: int = 64
    gate_units: tuple[int, ...] = (64, 32)
    gate_activation: Literal["sigmoid", "relu"] = "sigmoid"
    gate_per_field: bool = True
    cross_layers: int = 2
    fcn_units: tuple[int, ...] = (512, 256)
    cross_projection_dim: int = 1
    dropout: float = 0.0
    use_histories: bool = True
    continuous_buckets: int = 10

    def validate(self) -> None:
        require(self, "shared_dim", self.shared_dim >= 1, "an integer >= 1")
        require(self, "gate_units", all(int(u) >= 1 for u in self.gate_units),
                "a list of integers >= 1")
        require(self, "cross_layers", self.cross_layers >= 0, "an integer >= 0")
        require(self, "fcn_units", all(int(u) >= 1 for u in self.fcn_units),
                "a list of integers >= 1")
        require(self, "cross_projection_dim", self.cross_projection_dim >= 0,
                "an integer >= 0 (0 = full rank)")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")
        require(self, "continuous_buckets", self.continuous_buckets != 1
                and 0 <= self.continuous_buckets <= 100, "0 or an integer in [2, 100]")
        if hasattr(super(), "validate"):
            super().validate()

    def output_width(self, num_fields: int, field_dim: int) -> int:
        """Width of a network's output: the FCN's last layer plus the crossed input."""
        return num_fields * field_dim + (int(self.fcn_units[-1]) if self.fcn_units else 0)

    def bucket_boundaries(self, sizes: dict) -> dict[str, list[float]]:
        """Boundaries of ``continuous_buckets`` equal-frequency buckets per continuous
        field, from the training percentiles in ``sizes["continuous"]``."""
        if not self.continuous_buckets:
            return {}
        out = {}
        for name, percentiles in sizes.get("continuous", {}).items():
            if percentiles:
                step = 100 / self.continuous_buckets
                chosen = [percentiles[round(k * step)] for k in range(1, self.continuous_buckets)]
                out[name] = sorted(set(chosen))
        return out

    def history_inputs(self, num_domains: int) -> tuple[str, ...]:
        return history_inputs(num_domains) if self.use_histories else ()


class GatedCrossNetwork(keras.layers.Layer):
    """o = DeepCross(g_1 || ... || g_F), g_j = a_j e_j (Eq. 1-2); gates off: a_j = 1.

    Call args:
        fields: [B, F, K] field embeddings.

    Returns:
        ([B, D] network output, [B, F] gates or None).
    """

    def __init__(self, config: GatedCrossConfig, gated: bool = True, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.gate = (FieldGate(config.gate_units, config.gate_activation,
                               config.gate_per_field, name="gate") if gated else None)
        self.tower = DeepCross(config.cross_layers, config.fcn_units,
                               config.cross_projection_dim or None, config.dropout, seed,
                               name="deep_cross")

    def build(self, input_shape=None):
        """Sub-layers build on their first call."""
        self.built = True

    def call(self, fields, training=False):
        gates = None
        if self.gate is not None:
            fields, gates = self.gate(fields)
        flat = ops.reshape(fields, (-1, fields.shape[1] * fields.shape[2]))
        return self.tower(flat, training=training), gates


def embedding_for(config: GatedCrossConfig, sizes: dict, specific_dim: int,
                  name: str = "fields") -> DomainAwareEmbedding:
    """The field embeddings of a model built from a CTR task's ``sizes``.

    A model trained on one domain (``train_domains``) reads only that domain's
    history: it never saw the other's clicks in training.
    """
    num_domains = sizes["num_domains"]
    histories = config.history_inputs(num_domains)
    train_domains = getattr(config, "train_domains", "both")
    if train_domains != "both":
        kept = history_inputs(num_domains)[0 if train_domains == "source" else -1]
        histories = tuple(h for h in histories if h == kept)
    return DomainAwareEmbedding(sizes["fields"], histories,
                                config.shared_dim, specific_dim, num_domains,
                                config.bucket_boundaries(sizes), name=name)


def l2_of_networks(model, embedding) -> "keras.KerasTensor":
    """Sum of squares of the model's trainable weights, embedding tables excluded.

    A dense L2 gradient on a table would make Adam move every row at every
    step, and its normalised update shrinks the rows a batch does not look up
    by up to the learning rate per step, whatever the L2 weight.
    """
    tables = {id(v) for v in embedding.trainable_variables}
    return sum(ops.sum(ops.square(v)) for v in model.trainable_variables if id(v) not in tables)
