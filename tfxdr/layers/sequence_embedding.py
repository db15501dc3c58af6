"""Item plus position embeddings of left-padded sequences, positions counted from the end."""

from __future__ import annotations

import keras
from keras import ops
from keras_hub.layers import PositionEmbedding

from tfxdr.features import NUM_RESERVED


@keras.saving.register_keras_serializable(package="tfxdr")
class SequenceEmbedding(keras.layers.Layer):
    """e_t = I[v_t] + P[t]: one domain's item and position embeddings (RecGURU Eq. 4).

    Tokens are the preprocessing layer's indices (0 padding, 1 unknown, 2..
    the ``num_items`` known items) followed by ``num_extra`` special tokens
    (e.g. [eos], [start], [mask]: :meth:`special`).  Sequences are left-padded, so
    the newest item is always last: positions are counted from the end, and a
    sequence of length L takes the L position rows that end ``offset`` rows
    before the last (a sequence of items without the [eos] that follows them in
    the encoder takes ``offset=1``, so an item has the same position in both).
    The sum is layer-normalised and dropped out (as BERT's and SASRec's inputs).

    Args:
        num_items: known items of the domain.
        max_length: the longest sequence (with special tokens).
        dim: embedding size d.
        num_extra: special tokens after the items.
        dropout: dropout rate on the embeddings.
    """

    def __init__(self, num_items: int, max_length: int, dim: int, num_extra: int = 0,
                 dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_items = int(num_items)
        self.max_length = int(max_length)
        self.dim = int(dim)
        self.num_extra = int(num_extra)
        self.dropout = float(dropout)

    def build(self, tokens_shape=None):
        self.items = keras.layers.Embedding(NUM_RESERVED + self.num_items + self.num_extra,
                                            self.dim, name="items")
        self.items.build((None, None))
        self.positions = PositionEmbedding(self.max_length, name="positions")
        self.positions.build((None, self.max_length, self.dim))
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")
        self.norm.build((None, None, self.dim))
        self.drop = keras.layers.Dropout(self.dropout)
        self.built = True

    def special(self, number: int) -> int:
        """The token index of special token ``number`` (0-based)."""
        return NUM_RESERVED + self.num_items + number

    def item_matrix(self):
        """[num_items, d]: the known items' embeddings, in vocabulary order (Eq. 11's I_v)."""
        return self.items.embeddings[NUM_RESERVED:NUM_RESERVED + self.num_items]

    def call(self, tokens, training=False, offset: int = 0):
        embedded = self.items(tokens)
        length = ops.shape(tokens)[1]
        embedded = embedded + self.positions(embedded,
                                             start_index=self.max_length - offset - length)
        return self.drop(self.norm(embedded), training=training)

    def get_config(self):
        return {**super().get_config(), "num_items": self.num_items,
                "max_length": self.max_length, "dim": self.dim, "num_extra": self.num_extra,
                "dropout": self.dropout}
