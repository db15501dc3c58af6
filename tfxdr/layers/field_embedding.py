"""Embeddings of the CTR instance fields: user profile, candidate item, histories."""

from __future__ import annotations

import keras
from keras import ops


def is_user_field(name: str) -> bool:
    return name == "user" or name.startswith("u_")


def is_item_field(name: str) -> bool:
    return name == "item" or name.startswith("i_")


def history_inputs(num_domains: int) -> tuple[str, ...]:
    """Names of the per-domain click-history inputs of a CTR instance."""
    return tuple(f"hist_{k}" for k in range(num_domains))


class FieldEmbedding(keras.layers.Layer):
    """One table per categorical field; index 0 is padding / unknown.

    Fields follow the CTR instance naming: ``user`` and ``u_*`` describe the
    user, ``item`` and ``i_*`` the candidate, ``genres`` is a padded bag of
    values, and behaviour histories are item ids looked up in the ``item``
    table, so a history item and the same candidate share one vector.

    Args:
        field_sizes: vocabulary size of every field (``domain`` is ignored).
        dim: embedding size.

    Example:
        >>> embed = FieldEmbedding({"user": 10, "item": 20, "genres": 5}, dim=8)
        >>> p, q = embed.profile(batch), embed.candidate(batch)
    """

    def __init__(self, field_sizes: dict[str, int], dim: int, **kwargs):
        super().__init__(**kwargs)
        self.field_sizes = dict(field_sizes)
        self.dim = dim
        self.user_fields = sorted(f for f in self.field_sizes if is_user_field(f))
        self.item_fields = sorted(f for f in self.field_sizes if is_item_field(f))
        if "item" not in self.item_fields:
            raise ValueError("FieldEmbedding needs an 'item' field for candidates and histories")
        embedded = self.user_fields + self.item_fields + ["genres"]
        self.tables = {name: keras.layers.Embedding(size, dim, name=f"emb_{name}")
                       for name, size in self.field_sizes.items() if name in embedded}
        for name, table in self.tables.items():
            table.build((None,))

    def field(self, inputs, name):
        """[B, d] for a single-valued field, the masked sum of values for a bag."""
        values = ops.cast(inputs[name], "int32")
        vectors = self.tables[name](values)
        if len(values.shape) == 1:
            return vectors
        return ops.sum(vectors * ops.cast(values > 0, vectors.dtype)[..., None], axis=1)

    def profile(self, inputs):
        """p: the user's field embeddings summed, [B, d]."""
        return sum(self.field(inputs, name) for name in self.user_fields)

    def candidate(self, inputs):
        """q: the candidate's field embeddings (genres as a bag) summed, [B, d]."""
        names = self.item_fields + (["genres"] if "genres" in self.tables else [])
        return sum(self.field(inputs, name) for name in names)

    def history(self, ids):
        """([B, T, d] item embeddings, [B, T] mask of real positions) of a history."""
        ids = ops.cast(ids, "int32")
        return self.tables["item"](ids), ids > 0

    def call(self, inputs):
        return self.profile(inputs), self.candidate(inputs)

    def get_config(self):
        return {**super().get_config(), "field_sizes": self.field_sizes, "dim": self.dim}
