"""Bags of indices as multi-hot vectors: the one multi-hot builder."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.features import NUM_RESERVED


@keras.saving.register_keras_serializable(package="tfxdr")
class MultiHot(keras.layers.Layer):
    """[B, T] indices (0 padding, 1 unknown, 2.. known) -> [B, num_items] 0/1 vectors.

    Column i is 1 when known item i (index i + 2) is in the row's bag; repeats
    count once, and padding and unknown ids are left out.  Built on
    ``keras.layers.CategoryEncoding``.

    Args:
        num_items: known items (the vocabulary's length).

    Example:
        >>> MultiHot(3)(tf.constant([[2, 4, 4, 0, 1]]))  # -> [[1., 0., 1.]]
    """

    def __init__(self, num_items: int, **kwargs):
        super().__init__(**kwargs)
        self.num_items = int(num_items)

    def build(self, input_shape=None):
        self.encoding = keras.layers.CategoryEncoding(self.num_items + NUM_RESERVED,
                                                      output_mode="multi_hot", name="encoding")
        self.built = True

    def call(self, indices):
        return self.encoding(indices)[:, NUM_RESERVED:]

    def bag(self, indices):
        """The same click vector as a bag: ``(positions, present)``, both [B, T], the
        column of each entry and whether it is a known item not seen earlier in its
        row (a row's entries are sorted first, so repeats sit side by side).  A
        layer reading the bag costs what the clicks cost, not the catalogue."""
        indices = ops.sort(ops.cast(indices, "int32"), axis=-1)
        earlier = ops.pad(indices[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
        present = (indices >= NUM_RESERVED) & (indices != earlier)
        return ops.where(present, indices - NUM_RESERVED, 0), present

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_items)

    def get_config(self):
        return {**super().get_config(), "num_items": self.num_items}
