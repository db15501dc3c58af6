"""What DAAN's models share: domain-aware field embeddings and gated Deep & Cross networks."""

from __future__ import annotations

import dataclasses
from typing import Literal

from keras import ops

from tfxdr.config import Config, require
from tfxdr.layers import DomainAwareEmbedding, GatedCrossNetwork
from tfxdr.models.ctr_base import CtrModel


@dataclasses.dataclass
class GatedCrossConfig(Config):
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
        use_histories: embed the click histories as bag fields (the paper's
            "personal behavior" features).
        continuous_buckets: as the paper discretizes its continuous features,
            numeric columns with many values are bucketed into this many
            quantile buckets of the training rows.
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
        super().validate()
        require(self, "shared_dim", self.shared_dim >= 1, "an integer >= 1")
        require(self, "gate_units", all(int(u) >= 1 for u in self.gate_units),
                "a list of integers >= 1")
        require(self, "cross_layers", self.cross_layers >= 0, "an integer >= 0")
        require(self, "fcn_units", all(int(u) >= 1 for u in self.fcn_units),
                "a list of integers >= 1")
        require(self, "cross_projection_dim", self.cross_projection_dim >= 0,
                "an integer >= 0 (0 = full rank)")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")


class GatedCrossModel(CtrModel):
    """A CTR model on DAAN's embeddings and networks (helpers for ``build``)."""

    config: GatedCrossConfig

    def embedding_fields(self) -> list[str]:
        """Profile and candidate fields, then the histories the model reads."""
        histories = self.history_fields if self.config.use_histories else []
        return self.profile_fields + self.candidate_fields + histories

    def make_embedding(self, specific_dim: int) -> DomainAwareEmbedding:
        fields = self.embedding_fields()
        tables = self.table_sizes([f for f in fields if f not in self.history_fields])
        embedding = DomainAwareEmbedding(
            tables, fields, shared=self.history_tables(),
            shared_dim=self.config.shared_dim, specific_dim=specific_dim,
            num_domains=self.num_domains, name="fields")
        embedding.build()
        return embedding

    def make_network(self, embedding: DomainAwareEmbedding, gated: bool, seed: int,
                     name: str) -> GatedCrossNetwork:
        cfg = self.config
        network = GatedCrossNetwork(gated, cfg.gate_units, cfg.gate_activation,
                                    cfg.gate_per_field, cfg.cross_layers, cfg.fcn_units,
                                    cfg.cross_projection_dim or None, cfg.dropout, seed, name=name)
        network.build((None, len(embedding.fields), embedding.output_dim))
        return network

    def l2_of_networks(self, embedding: DomainAwareEmbedding):
        """Sum of squares of the model's trainable weights, embedding tables excluded.

        A dense L2 gradient on a table would make Adam move every row at every
        step, and its normalised update shrinks the rows a batch does not look up
        by up to the learning rate per step, whatever the L2 weight.
        """
        tables = {id(v) for v in embedding.trainable_variables}
        return sum(ops.sum(ops.square(v)) for v in self.trainable_variables
                   if id(v) not in tables)
