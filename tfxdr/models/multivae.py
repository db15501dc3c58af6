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
from tfxdr.losses import (bag_multinomial_log_likelihood, kl_standard_normal,
                          multinomial_log_likelihood)
from tfxdr.models.click_base import ClickModel
from tfxdr.ops import dense_on_bag, l2_normalize


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
        """Mean and log-variance of q(z | x) for dense click vectors x."""
        h = l2_normalize(x)
        h = self.input_dropout(h, training=training)
        for layer in self.encoder:
            h = layer(h)
        return self.to_mean(h), self.to_log_var(h)

    def encode_bag(self, positions, present, training=False):
        """:meth:`encode` of the click vector given as a bag: its L2 normalisation is
        1 / sqrt(clicks) at each click, and the dropout drops clicks."""
        h = dense_on_bag(self.encoder[0], *self.normalized_bag(
            (positions, present), self.input_dropout, training))
        for layer in self.encoder[1:]:
            h = layer(h)
        return self.to_mean(h), self.to_log_var(h)

    def decode(self, z, domain: int | None = None):
        """Logits over every domain's items, or over ``domain``'s alone (its columns
        of the output layer, the others not computed)."""
        for layer in self.decoder:
            z = layer(z)
        if domain is None:
            return self.to_logits(z)
        start = sum(self.num_items[:domain])
        end = start + self.num_items[domain]
        return ops.matmul(z, self.to_logits.kernel[:, start:end]) + self.to_logits.bias[start:end]

    def compute_losses(self, data, training=True):
        step = ops.cast(self.optimizer.iterations, "float32")
        beta = ops.minimum(self.config.beta_cap, step / self.config.anneal_steps)
        if self.reads_bags:
            inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            positions, present = self.click_bag(self.preprocess(inputs),
                                                range(self.num_domains))
            mean, log_var = self.encode_bag(positions, present, training=training)
            logits = self.decode(self.sample(mean, log_var, training=training))
            likelihood = bag_multinomial_log_likelihood(positions, present, logits)
        else:
            x = ops.concatenate(self.click_vectors(data), axis=-1)
            mean, log_var = self.encode(x, training=training)
            logits = self.decode(self.sample(mean, log_var, training=training))
            likelihood = multinomial_log_likelihood(x, logits)
        nll = -ops.mean(likelihood)
        kl = ops.mean(kl_standard_normal(mean, log_var))
        return {"loss": nll + beta * kl, "nll": nll, "kl": kl, "beta": beta}

    def translate(self, inputs, source: int, target: int):
        """Logits over the target domain's items from the source domain's clicks (every
        other domain's part of the input zero)."""
        indices = self.preprocess(inputs)
        if self.reads_bags:
            positions, present = self.click_bag(indices, [source])
            offset = sum(self.num_items[:source])
            mean, _ = self.encode_bag(positions + offset, present, training=False)
            return self.decode(mean, target)
        x_source = self.click_vector(indices, source)
        batch = ops.shape(x_source)[0]
        parts = [x_source if k == source else ops.zeros((batch, n))
                 for k, n in enumerate(self.num_items)]
        mean, _ = self.encode(ops.concatenate(parts, axis=-1), training=False)
        return self.decode(mean, target)
