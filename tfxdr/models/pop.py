"""Popularity baseline: rank a domain's items by how many training users clicked them."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.models.click_base import ClickModel


@keras.saving.register_keras_serializable(package="tfxdr")
class Popularity(ClickModel):
    """Counts clicks per item of each domain; scores ignore the user.

    It is a Keras model so that it trains, checkpoints and exports through the
    same path as every other model.  Its ``train_step`` counts instead of
    taking a gradient step (there is nothing to differentiate); the count of
    clicks is its logged term.
    """

    loss_terms = ("loss", "clicks")

    def build(self, input_shape=None):
        super().build(input_shape)
        self.counts = [self.add_weight(shape=(n,), initializer="zeros", trainable=False,
                                       name=f"counts_{k}") for k, n in enumerate(self.num_items)]

    def compute_losses(self, data, training=True):
        """Nothing to minimise (``loss`` 0); ``clicks``: the batch's clicks."""
        return self._terms(self.click_vectors(data))

    def train_step(self, data):
        vectors = self.click_vectors(data)
        for counts, vector in zip(self.counts, vectors):
            counts.assign_add(ops.sum(vector, axis=0))
        return self.log_terms(self._terms(vectors))

    @staticmethod
    def _terms(vectors) -> dict:
        return {"loss": ops.zeros(()), "clicks": sum(ops.sum(vector) for vector in vectors)}

    def translate(self, inputs, source: int, target: int):
        """[B, I_target]: the target domain's click counts for every user."""
        batch = ops.shape(self.click_vector(self.preprocess(inputs), source))[0]
        counts = self.counts[target]
        return ops.broadcast_to(counts[None, :], (batch, counts.shape[0]))
