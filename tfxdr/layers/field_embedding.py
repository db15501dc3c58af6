"""One embedding table per field; bags pooled over their non-padding values."""

from __future__ import annotations

from typing import Literal

import keras
from keras import ops

from tfxdr.ops import masked_mean


@keras.saving.register_keras_serializable(package="tfxdr")
class FieldEmbedding(keras.layers.Layer):
    """Embeds named index inputs; index 0 is padding.

    Each table is named by the field that owns it; other inputs may share a
    table (``shared``: a behaviour history is looked up in the item-id table,
    so a history item and the same candidate share one vector).  A [B] input
    embeds to [B, dim]; a [B, T] bag to the sum (or mean) of its non-padding
    values' vectors, zeros when it has none.

    Args:
        tables: table name -> rows.
        dim: embedding size.
        shared: input name -> the table it is looked up in (default: its own name).
        bag_pooling: ``sum`` or ``mean`` of a bag's vectors.

    Example:
        >>> embed = FieldEmbedding({"user_id": 10, "item_id": 20}, dim=8,
        ...                        shared={"history_books": "item_id"})
        >>> p = embed.field(inputs, "user_id")                     # [B, 8]
        >>> vectors, mask = embed.sequence(inputs, "history_books")  # [B, T, 8], [B, T]
    """

    def __init__(self, tables: dict[str, int], dim: int, shared: dict[str, str] | None = None,
                 bag_pooling: Literal["sum", "mean"] = "sum", **kwargs):
        super().__init__(**kwargs)
        self.tables = {name: int(rows) for name, rows in tables.items()}
        self.dim = int(dim)
        self.shared = dict(shared or {})
        if bag_pooling not in ("sum", "mean"):
            raise ValueError(f"bag_pooling={bag_pooling!r} is invalid: expected sum or mean")
        self.bag_pooling = bag_pooling

    def build(self, input_shape=None):
        self.embeddings = {name: keras.layers.Embedding(rows, self.dim, name=f"emb_{name}")
                           for name, rows in self.tables.items()}
        for table in self.embeddings.values():
            table.build((None,))
        self.built = True

    def table_of(self, name: str):
        return self.embeddings[self.shared.get(name, name)]

    def sequence(self, inputs, name: str):
        """([B, T, dim] vectors, [B, T] mask of non-padding positions) of a bag input."""
        ids = ops.cast(inputs[name], "int32")
        return self.table_of(name)(ids), ids > 0

    def field(self, inputs, name: str):
        """[B, dim]: the vector of a single-valued input, the pooled bag of a [B, T] one."""
        ids = ops.cast(inputs[name], "int32")
        vectors = self.table_of(name)(ids)
        if len(ids.shape) == 1:
            return vectors
        mask = ops.expand_dims(ids > 0, -1)
        if self.bag_pooling == "mean":
            return masked_mean(vectors, mask, axis=1)
        return ops.sum(vectors * ops.cast(mask, vectors.dtype), axis=1)

    def call(self, inputs, names):
        """[B, len(names), dim]: every named field, stacked."""
        return ops.stack([self.field(inputs, name) for name in names], axis=1)

    def get_config(self):
        return {**super().get_config(), "tables": self.tables, "dim": self.dim,
                "shared": self.shared, "bag_pooling": self.bag_pooling}
