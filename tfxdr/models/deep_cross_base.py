"""What DAAN's models share: domain-aware field embeddings and gated Deep & Cross networks."""

from __future__ import annotations

from keras import ops

from tfxdr.layers import DomainAwareEmbedding, GatedCrossNetwork
from tfxdr.models.ctr_base import CtrModel
from tfxdr.hparams.deep_cross_base import GatedCrossConfig


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
