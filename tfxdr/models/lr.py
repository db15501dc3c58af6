"""Logistic regression over every categorical field: the floor of the CTR comparisons."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.models.ctr_base import CtrModel

HISTORY_TABLE = "history_item"


@keras.saving.register_keras_serializable(package="tfxdr")
class LogisticRegression(CtrModel):
    """sigmoid(b + sum_f w_f[x_f]): one weight per value of every field.

    Multi-valued fields (genres) add the weights of their values; the behaviour
    histories add theirs as bags of items (one table for every history), so the
    floor sees the same inputs as the deep models.  The candidate's domain is a
    field too.
    """

    def build(self, input_shape=None):
        super().build(input_shape)
        regularizer = keras.regularizers.L2(self.config.l2) if self.config.l2 else None
        fields = self.profile_fields + self.candidate_fields + ["domain"]
        history_rows = [self.spec.size(name) for name in self.history_fields]
        rows = {**self.table_sizes(fields), HISTORY_TABLE: max(history_rows, default=1)}
        self.weights_by_field = {
            name: keras.layers.Embedding(size, 1, embeddings_initializer="zeros",
                                         embeddings_regularizer=regularizer, name=f"w_{name}")
            for name, size in rows.items()}
        for table in self.weights_by_field.values():
            table.build((None,))
        self.fields = fields
        self.bias = self.add_weight(shape=(), initializer="zeros", name="bias")

    def logits(self, features, training=False):
        logit = self.bias
        bags = [(name, name) for name in self.fields] + [(h, HISTORY_TABLE)
                                                         for h in self.history_fields]
        for name, table in bags:
            values = ops.cast(features[name], "int32")
            weights = ops.squeeze(self.weights_by_field[table](values), -1)
            if len(weights.shape) > 1:  # a bag: padding index 0 contributes nothing
                weights = ops.sum(weights * ops.cast(values > 0, weights.dtype), axis=-1)
            logit = logit + weights
        return logit
