"""Shared plus domain-specific field embeddings (DAAN's embedding layer)."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers.field_embedding import is_item_field, is_user_field


class DomainAwareEmbedding(keras.layers.Layer):
    """e_j = e_c^j(v_j) || e_d^j(v_j) for every field j of an instance of domain d.

    Every field has a shared table (``shared_dim``) and one small table per
    domain (``specific_dim``); the instance's ``domain`` input picks the
    specific one.  Single-valued fields (``user``, ``u_*``, ``item``, ``i_*``)
    look up their value; bag fields (``genres``, and histories of item ids,
    looked up in the ``item`` tables) average the vectors of their non-zero
    values, and an empty bag embeds to zeros.  Index 0 is unknown / padding.
    A continuous field (raw float input ``n_X``) is bucketed by fixed
    boundaries and replaces the categorical field ``X``; NaN is bucket 0.

    Args:
        field_sizes: vocabulary size of every field (``domain`` is not embedded).
        histories: names of item-id history inputs embedded as bag fields.
        shared_dim: size of the shared part (the paper: 64).
        specific_dim: size of the domain-specific part (the paper: 8); 0 leaves
            it out (DAAN's CNAN_1).
        num_domains: how many domains have specific tables.
        continuous: raw input name (``n_X``) -> ascending bucket boundaries.

    Call args:
        inputs: dict of int index tensors (float raw values for continuous
            fields), with ``domain`` [B] when ``specific_dim`` > 0.

    Returns:
        [B, F, shared_dim + specific_dim], fields in the order of ``field_names``.
    """

    def __init__(self, field_sizes: dict[str, int], histories: tuple[str, ...] = (),
                 shared_dim: int = 64, specific_dim: int = 8, num_domains: int = 2,
                 continuous: dict[str, list[float]] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.field_sizes = dict(field_sizes)
        self.histories = tuple(histories)
        self.shared_dim = int(shared_dim)
        self.specific_dim = int(specific_dim)
        self.num_domains = int(num_domains)
        self.continuous = {name: [float(b) for b in bounds]
                           for name, bounds in (continuous or {}).items()}
        if "item" not in self.field_sizes:
            raise ValueError("DomainAwareEmbedding needs an 'item' field for the candidate "
                             "and histories")
        bucketed = {name[2:]: name for name in self.continuous}  # X -> n_X
        singles = sorted(f for f in self.field_sizes if is_user_field(f))
        singles += sorted(f for f in self.field_sizes if is_item_field(f))
        singles = [bucketed.get(f, f) for f in singles]
        bags = (["genres"] if "genres" in self.field_sizes else []) + list(self.histories)
        self.singles, self.bags = singles, bags
        #: input name -> the field whose tables it is looked up in
        self.table_of = {**{f: f for f in singles + bags}, **{h: "item" for h in self.histories}}
        #: table -> rows (a bucketed field: its buckets plus the unknown row 0)
        self.table_sizes = {**self.field_sizes,
                            **{name: len(b) + 2 for name, b in self.continuous.items()}}
        tables = sorted(set(self.table_of.values()))
        self.shared = {t: keras.layers.Embedding(self.table_sizes[t], self.shared_dim,
                                                 name=f"shared_{t}") for t in tables}
        self.specific = {}
        if self.specific_dim:
            self.specific = {t: keras.layers.Embedding(self.table_sizes[t] * self.num_domains,
                                                       self.specific_dim, name=f"specific_{t}")
                             for t in tables}
        for table in [*self.shared.values(), *self.specific.values()]:
            table.build((None,))

    @property
    def field_names(self) -> list[str]:
        return self.singles + self.bags

    @property
    def output_dim(self) -> int:
        return self.shared_dim + self.specific_dim

    def _lookup(self, name, values, domain):
        table = self.table_of[name]
        vectors = self.shared[table](values)
        if self.specific_dim:
            offset = domain * self.table_sizes[table]
            if len(values.shape) == 2:
                offset = offset[:, None]
            vectors = ops.concatenate([vectors, self.specific[table](values + offset)], axis=-1)
        return vectors

    def _index(self, name, values):
        """The table row of a field's values: a bucket (1..) for a continuous field."""
        if name not in self.continuous:
            return ops.cast(values, "int32")
        values = ops.cast(values, "float32")
        buckets = ops.digitize(values, self.continuous[name]) + 1
        return ops.cast(ops.where(ops.isnan(values), 0, buckets), "int32")

    def call(self, inputs):
        domain = ops.cast(inputs["domain"], "int32") if self.specific_dim else None
        fields = [self._lookup(name, self._index(name, inputs[name]), domain)
                  for name in self.singles]
        for name in self.bags:
            values = ops.cast(inputs[name], "int32")
            vectors = self._lookup(name, values, domain)
            mask = ops.cast(values > 0, vectors.dtype)[..., None]
            count = ops.maximum(ops.sum(mask, axis=1), 1.0)
            fields.append(ops.sum(vectors * mask, axis=1) / count)
        return ops.stack(fields, axis=1)

    def get_config(self):
        return {**super().get_config(), "field_sizes": self.field_sizes,
                "histories": self.histories, "shared_dim": self.shared_dim,
                "specific_dim": self.specific_dim, "num_domains": self.num_domains,
                "continuous": self.continuous}
