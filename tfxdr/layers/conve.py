"""ConvE translation: a tail vector from a head and a relation by 2-D convolution."""

from __future__ import annotations

import keras
from keras import ops

REDUCTIONS = ("flatten", "sum_rows")


@keras.saving.register_keras_serializable(package="tfxdr")
class ConvETranslation(keras.layers.Layer):
    """e_t = Flatten(CNN(f(e_h, r))) W_c, ConvE's translation of a head by a relation.

    f reshapes the head and the relation (both of size k = rows * cols) to
    rows x cols matrices and interleaves their rows, h_1, r_1, h_2, r_2, ...,
    so that a kernel spanning two rows mixes every head row with its relation
    row; a 2-D convolution, its activation, the flattened feature maps and a
    projection W_c follow.  Flattening keeps the position of every feature
    (2 * rows * cols * filters inputs to W_c); ``reduce="sum_rows"`` sums the
    maps over the rows first (cols * filters inputs), a far smaller W_c.

    Args:
        units: size of the translated vector.
        image_shape: (rows, cols) of each reshaped input.
        filters, kernel_size: the convolution's (padding "same").
        activation: after the convolution (ConvE uses ReLU).
        reduce: "flatten" (the equation) or "sum_rows".
        dropout: on the flattened maps, in training.

    Call args:
        head: [B, k]; relation: [B, k].

    Returns:
        [B, units].
    """

    def __init__(self, units: int, image_shape: tuple[int, int], filters: int = 16,
                 kernel_size: int | tuple[int, int] = 3, activation: str | None = "relu",
                 reduce: str = "flatten", dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce={reduce!r} is invalid: expected one of "
                             f"{', '.join(REDUCTIONS)}")
        self.units = int(units)
        self.image_shape = tuple(int(n) for n in image_shape)
        self.filters = int(filters)
        self.kernel_size = (tuple(int(n) for n in kernel_size)
                            if isinstance(kernel_size, (tuple, list)) else int(kernel_size))
        self.activation = activation
        self.reduce = reduce
        self.dropout = float(dropout)

    def build(self, head_shape, relation_shape=None):
        rows, cols = self.image_shape
        if head_shape[-1] is not None and int(head_shape[-1]) != rows * cols:
            raise ValueError(f"head of size {head_shape[-1]} cannot be reshaped to "
                             f"image_shape {self.image_shape}: expected {rows * cols}")
        self.conv = keras.layers.Conv2D(self.filters, self.kernel_size, padding="same",
                                        activation=self.activation, name="conv")
        self.conv.build((None, 2 * rows, cols, 1))
        features = (2 * rows if self.reduce == "flatten" else 1) * cols * self.filters
        self.projection = keras.layers.Dense(self.units, name="projection")
        self.projection.build((None, features))
        self.drop = keras.layers.Dropout(self.dropout)
        self.built = True

    def image(self, head, relation):
        """[B, 2 * rows, cols, 1]: the rows of head and relation, interleaved."""
        rows, cols = self.image_shape
        stacked = ops.stack([ops.reshape(head, (-1, rows, cols)),
                             ops.reshape(relation, (-1, rows, cols))], axis=2)
        return ops.reshape(stacked, (-1, 2 * rows, cols, 1))

    def call(self, head, relation, training=None):
        maps = self.conv(self.image(head, relation))
        if self.reduce == "sum_rows":
            maps = ops.sum(maps, axis=1)
        features = ops.reshape(maps, (ops.shape(maps)[0], -1))
        return self.projection(self.drop(features, training=training))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "image_shape": list(self.image_shape),
                "filters": self.filters,
                "kernel_size": (list(self.kernel_size) if isinstance(self.kernel_size, tuple)
                                else self.kernel_size),
                "activation": self.activation, "reduce": self.reduce, "dropout": self.dropout}
