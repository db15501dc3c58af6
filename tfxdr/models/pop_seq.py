"""Popularity for next-item recommendation and matching: a domain's items ranked by
training count."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.features import positives_key
from tfxdr.models.sequence_base import SequenceModel


@keras.saving.register_keras_serializable(package="tfxdr")
class SequencePopularity(SequenceModel):
    """Counts each domain's items in the training batches (the sequences, and the
    positives where a matching batch has them); scores ignore the user.

    Its ``train_step`` counts instead of taking a gradient step, so that it
    trains, checkpoints and exports through the same path as every model.
    """

    loss_terms = ("loss", "items")

    def build(self, input_shape=None):
        super().build(input_shape)
        self.counts = [self.add_weight(shape=(n,), initializer="zeros", trainable=False,
                                       name=f"counts_{k}") for k, n in enumerate(self.num_items)]
        self.built = True

    def _positions(self, inputs, domain: int):
        positions = self.item_positions(self.tokens(inputs, domain, self.config.max_len + 1))
        positives = positives_key(self.spec.domains[domain])
        if positives in inputs:
            raw = inputs[positives]
            positions = ops.concatenate([positions, self.item_positions(
                self.preprocessor.lookup(self.inputs_of[domain], raw))], axis=1)
        return positions

    def train_step(self, data):
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        total = ops.zeros(())
        for k, counts in enumerate(self.counts):
            positions = self._positions(inputs, k)
            known = ops.cast(positions >= 0, "float32")
            counts.assign_add(ops.sum(ops.one_hot(ops.maximum(positions, 0), self.num_items[k])
                                      * known[..., None], axis=(0, 1)))
            total = total + ops.sum(known)
        return self.log_terms({"loss": ops.zeros(()), "items": total})

    def score_next(self, inputs, domain: int):
        rows = ops.shape(inputs[self.inputs_of[domain]])[0]
        counts = self.counts[domain]
        return ops.broadcast_to(counts[None, :], (rows, counts.shape[0]))
