"""Reparameterised Gaussian sampling for VAE latents."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfxdr")
class GaussianSample(keras.layers.Layer):
    """Draws ``z = mean + exp(log_var / 2) * eps`` in training, returns ``mean`` otherwise.

    Without ``log_var`` the variance is 1 (D2D-TM's latent: ``z ~ N(mean, I)``).

    Args:
        seed: seed of the layer's ``keras.random.SeedGenerator``.

    Example:
        >>> z = GaussianSample(seed=1)(mean, log_var, training=True)

    Reference: Kingma and Welling, Auto-Encoding Variational Bayes (2014).
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, mean, log_var=None, training=None):
        if not training:
            return mean
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator, dtype=mean.dtype)
        if log_var is None:
            return mean + noise
        return mean + ops.exp(0.5 * log_var) * noise

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
