"""Shared plus domain-specific field embeddings (DAAN's embedding layer)."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers.field_embedding import FieldEmbedding
from tfxdr.ops import masked_mean


@keras.saving.register_keras_serializable(package="tfxdr")
class DomainAwareEmbedding(keras.layers.Layer):
    """e_j = e_c^j(v_j) || e_d^j(v_j) for every field j of an instance of domain d.

    Every table has a shared part (``shared_dim``) and a small part per domain
    (``specific_dim``); the instance's domain picks the specific one.  A [B]
    input embeds to its vector; a [B, T] bag averages the vectors of its
    non-padding values (zeros when empty).  Index 0 is padding.

    Args:
        tables: table name -> rows.
        fields: the embedded inputs, in output order.
        shared: input name -> the table it is looked up in (default: its own name).
        shared_dim: size of the shared part (the paper: 64).
        specific_dim: size of the domain-specific part (the paper: 8); 0 leaves
            it out (DAAN's CNAN_1).
        num_domains: how many domains have specific tables.
        domain_input: the input holding each instance's domain index.

    Call args:
        inputs: dict of int index tensors.

    Returns:
        [B, len(fields), shared_dim + specific_dim].
    """

    def __init__(self, tables: dict[str, int], fields: list[str] | tuple[str, ...],
                 shared: dict[str, str] | None = None, shared_dim: int = 64,
                 specific_dim: int = 8, num_domains: int = 2, domain_input: str = "domain",
                 **kwargs):
        super().__init__(**kwargs)
        self.tables = {name: int(rows) for name, rows in tables.items()}
        self.fields = tuple(fields)
        self.shared = dict(shared or {})
        self.shared_dim = int(shared_dim)
        self.specific_dim = int(specific_dim)
        self.num_domains = int(num_domains)
        self.domain_input = domain_input

    def build(self, input_shape=None):
        used = sorted({self.shared.get(f, f) for f in self.fields})
        tables = {name: self.tables[name] for name in used}
        self.common = FieldEmbedding(tables, self.shared_dim, name="shared")
        self.common.build()
        self.specific = None
        if self.specific_dim:
            # One table of rows x domains: row r of domain d is r + d * rows.
            self.specific = FieldEmbedding(
                {name: rows * self.num_domains for name, rows in tables.items()},
                self.specific_dim, name="specific")
            self.specific.build()
        self.built = True

    @property
    def output_dim(self) -> int:
        return self.shared_dim + self.specific_dim

    def _field(self, inputs, name, domain):
        ids = ops.cast(inputs[name], "int32")
        table = self.shared.get(name, name)
        vectors = self.common.embeddings[table](ids)
        if self.specific is not None:
            offset = domain * self.tables[table]
            if len(ids.shape) == 2:
                offset = offset[:, None]
            vectors = ops.concatenate([vectors, self.specific.embeddings[table](ids + offset)],
                                      axis=-1)
        if len(ids.shape) == 1:
            return vectors
        return masked_mean(vectors, ops.expand_dims(ids > 0, -1), axis=1)

    def call(self, inputs):
        domain = (ops.cast(inputs[self.domain_input], "int32") if self.specific is not None
                  else None)
        return ops.stack([self._field(inputs, name, domain) for name in self.fields], axis=1)

    def get_config(self):
        return {**super().get_config(), "tables": self.tables, "fields": list(self.fields),
                "shared": self.shared, "shared_dim": self.shared_dim,
                "specific_dim": self.specific_dim, "num_domains": self.num_domains,
                "domain_input": self.domain_input}
