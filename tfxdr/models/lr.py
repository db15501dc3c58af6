"""Logistic regression over every categorical field: the floor of the CTR comparisons."""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from tfxdr.config import TrainConfig, require
from tfxdr.layers.field_embedding import history_inputs
from tfxdr.models.registry import registered


@dataclasses.dataclass
class LRConfig(TrainConfig):
    """Adam on the cross-entropy; ``l2`` on the per-value weights."""

    l2: float = 1e-6
    epochs: int = 20
    batch_size: int = 1024
    learning_rate: float = 1e-2
    patience: int = 3

    def validate(self) -> None:
        super().validate()
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")


class LogisticRegression(keras.Model):
    """sigmoid(b + sum_f w_f[x_f]): one weight per value of every field.

    Multi-valued fields (genres) add the weights of their values; the behaviour
    histories add theirs as bags of items, so the floor sees the same inputs as
    the deep models.

    Args:
        field_sizes: vocabulary size of each categorical field (0 = padding).
        history_fields: names of the history inputs, looked up in the ``item`` table.
        l2: weight decay on the per-value weights.
    """

    def __init__(self, field_sizes: dict[str, int], history_fields: tuple[str, ...],
                 l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.field_sizes = dict(field_sizes)
        self.history_fields = tuple(history_fields)
        regularizer = keras.regularizers.L2(l2) if l2 else None
        self.weights_by_field = {
            name: keras.layers.Embedding(size, 1, embeddings_initializer="zeros",
                                         embeddings_regularizer=regularizer, name=f"w_{name}")
            for name, size in self.field_sizes.items()}
        self.history_weights = keras.layers.Embedding(
            self.field_sizes["item"], 1, embeddings_initializer="zeros",
            embeddings_regularizer=regularizer, name="w_history_item")
        self.bias = self.add_weight(shape=(), initializer="zeros", name="bias")

    def call(self, inputs, training=False):
        logit = self.bias
        for name, table in self.weights_by_field.items():
            values = ops.cast(inputs[name], "int32")
            weights = ops.squeeze(table(values), -1)
            if len(weights.shape) > 1:  # multi-valued: padding index 0 contributes nothing
                weights = ops.sum(weights * ops.cast(values > 0, weights.dtype), axis=-1)
            logit = logit + weights
        for name in self.history_fields:
            values = ops.cast(inputs[name], "int32")
            weights = ops.squeeze(self.history_weights(values), -1)
            logit = logit + ops.sum(weights * ops.cast(values > 0, weights.dtype), axis=-1)
        return ops.sigmoid(logit)


@registered("lr", LRConfig, "ctr",
            "logistic regression on all fields and history items (CTR floor)")
def build_lr(config: LRConfig, sizes: dict, seed: int) -> LogisticRegression:
    histories = history_inputs(sizes["num_domains"])
    model = LogisticRegression(sizes["fields"], histories, l2=config.l2)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.BinaryCrossentropy())
    return model
