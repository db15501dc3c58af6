"""Replacing a seeded share of known ids by the unknown id while training."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.features import NUM_RESERVED, UNKNOWN_INDEX


@keras.saving.register_keras_serializable(package="tfxdr")
class UnknownIdDropout(keras.layers.Layer):
    """In training, each known id (index >= 2) becomes the unknown index 1 with
    probability ``rate``; padding (0) stays.  Identity otherwise.

    Ids first seen at serving time (a cold user, a new item) map to the unknown
    index.  Without this layer its embedding would never be trained; with it,
    the unknown row learns what a typical id contributes, as dropout on ids.

    Args:
        rate: share of known ids replaced in each training batch.
        seed: seed of the layer's ``keras.random.SeedGenerator``.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"UnknownIdDropout rate={rate} is invalid: expected a number in [0, 1)")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=False):
        if not training or self.rate == 0.0:
            return ids
        drop = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) < self.rate
        return ops.where(drop & (ids >= NUM_RESERVED), ops.cast(UNKNOWN_INDEX, ids.dtype), ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
