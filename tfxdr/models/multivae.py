"""Multi-VAE (Liang et al., 2018) on the concatenated click vectors of every domain.

The cross-domain baseline of D2D-TM: train on ``[x_1, ..., x_n]``; to translate
from domain s to domain t, feed x_s with every other domain's vector zero and
rank the t part of the output.

Reference: Liang, Krishnan, Hoffman, Jebara. Variational Autoencoders for
Collaborative Filtering. WWW 2018.
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers import GaussianSample
from tfxdr.losses import kl_standard_normal, multinomial_log_likelihood
from tfxdr.models.click_base import ClickModel
from tfxdr.ops import l2_normalize


@keras.saving.register_keras_serializable(package="tfxdr")
class MultiVAE(ClickModel):
    """Multi-VAE over the concatenated click vectors, with cross-domain scoring.

    The KL weight at a training step is min(beta_cap, step / anneal_steps), the
    step being the optimizer's iteration count.
    """

    loss_terms = ("loss", "nll", "kl", "beta")

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        regularizer = keras.regularizers.L2(cfg.l2) if cfg.l2 else None

        def dense(units, name, activation="tanh"):
            return keras.layers.Dense(units, activation=activation,
                                      kernel_regularizer=regularizer, name=name)

        width = sum(self.num_items)
        self.input_dropout = keras.layers.Dropout(cfg.dropout, seed=self.seed)
        self.encoder = [dense(d, f"encoder_{i}") for i, d in enumerate(cfg.hidden_dims)]
        self.to_mean = dense(cfg.latent_dim, "mean", activation=None)
        self.to_log_var = dense(cfg.latent_dim, "log_var", activation=None)
        self.sample = GaussianSample(seed=self.seed + 1)
        self.decoder = [dense(d, f"decoder_{i}") for i, d in enumerate(reversed(cfg.hidden_dims))]
        self.to_logits = dense(width, "logits", activation=None)
        for layer in self.encoder:
            layer.build((None, width))
            width = layer.units
        self.to_mean.build((None, width))
        self.to_log_var.build((None, width))
        width = cfg.latent_dim
        for layer in self.decoder + [self.to_logits]:
            layer.build((None, width))
            width = layer.units

    def encode(self, x, training=False):
        h = l2_normalize(x)
        h = self.input_dropout(h, training=training)
        for layer in self.encoder:
            h = layer(h)
        return self.to_mean(h), self.to_log_var(h)

    def decode(self, z):
        for layer in self.decoder:
            z = layer(z)
        return self.to_logits(z)

    def compute_losses(self, data, training=True):
        x = ops.concatenate(self.click_vectors(data), axis=-1)
        step = ops.cast(self.optimizer.iterations, "float32")
        beta = ops.minimum(self.config.beta_cap, step / self.config.anneal_steps)
        mean, log_var = self.encode(x, training=training)
        logits = self.decode(self.sample(mean, log_var, training=training))
        nll = -ops.mean(multinomial_log_likelihood(x, logits))
        kl = ops.mean(kl_standard_normal(mean, log_var))
        return {"loss": nll + beta * kl, "nll": nll, "kl": kl, "beta": beta}

    def translate(self, inputs, source: int, target: int):
        """Logits over the target domain's items from the source domain's clicks."""
        x_source = self.click_vector(self.preprocess(inputs), source)
        batch = ops.shape(x_source)[0]
        parts = [x_source if k == source else ops.zeros((batch, n))
                 for k, n in enumerate(self.num_items)]
        mean, _ = self.encode(ops.concatenate(parts, axis=-1), training=False)
        start = sum(self.num_items[:target])
        return self.decode(mean)[:, start:start + self.num_items[target]]
