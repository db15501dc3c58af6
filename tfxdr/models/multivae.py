"""Multi-VAE (Liang et al., 2018) on the concatenated click vectors of two domains.

The cross-domain baseline of D2D-TM: train on ``[x_A, x_B]``; to translate,
feed ``[x_A, 0]`` and rank the B part of the output (and B -> A likewise).

Reference: Liang, Krishnan, Hoffman, Jebara. Variational Autoencoders for
Collaborative Filtering. WWW 2018.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf
from keras import ops

from tfxdr.config import TrainConfig, require
from tfxdr.layers import GaussianSample
from tfxdr.losses import kl_standard_normal, multinomial_log_likelihood
from tfxdr.models.registry import registered


@dataclasses.dataclass
class MultiVAEConfig(TrainConfig):
    """Hyperparameters.

    Architecture ``I-600-200-50-200-600-I`` is the one D2D-TM reports for its
    Multi-VAE baseline; the rest (tanh, input L2 normalisation and dropout 0.5,
    KL weight annealed linearly to ``beta_cap`` = 0.2, Adam 1e-3, batch 500)
    is Liang et al.'s.  ``anneal_steps`` is shortened from their 200,000
    updates, which suit a 100k-user dataset, to a value that reaches the cap
    within a MovieLens-sized run.
    """

    hidden_dims: tuple[int, ...] = (600, 200)
    latent_dim: int = 50
    dropout: float = 0.5
    beta_cap: float = 0.2
    anneal_steps: int = 2000
    l2: float = 0.0
    epochs: int = 100
    batch_size: int = 500
    learning_rate: float = 1e-3

    def validate(self) -> None:
        super().validate()
        require(self, "hidden_dims", all(d >= 1 for d in self.hidden_dims), "positive sizes")
        require(self, "latent_dim", self.latent_dim >= 1, "an integer >= 1")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")
        require(self, "beta_cap", self.beta_cap >= 0.0, "a number >= 0")
        require(self, "anneal_steps", self.anneal_steps >= 1, "an integer >= 1")
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")


class MultiVAE(keras.Model):
    """Multi-VAE over ``[x_a, x_b]`` with cross-domain scoring.

    Args:
        num_items_a: items in domain A.
        num_items_b: items in domain B.
        config: hyperparameters.
        seed: seed of dropout and latent noise.
    """

    def __init__(self, num_items_a: int, num_items_b: int, config: MultiVAEConfig,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.num_items_a = num_items_a
        self.num_items_b = num_items_b
        self.config = config
        regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
        dense = lambda units, name, act="tanh": keras.layers.Dense(  # noqa: E731
            units, activation=act, kernel_regularizer=regularizer, name=name)
        self.input_dropout = keras.layers.Dropout(config.dropout, seed=seed)
        self.encoder = [dense(d, f"encoder_{i}") for i, d in enumerate(config.hidden_dims)]
        self.to_mean = dense(config.latent_dim, "mean", act=None)
        self.to_log_var = dense(config.latent_dim, "log_var", act=None)
        self.sample = GaussianSample(seed=seed + 1)
        self.decoder = [dense(d, f"decoder_{i}")
                        for i, d in enumerate(reversed(config.hidden_dims))]
        self.to_logits = dense(num_items_a + num_items_b, "logits", act=None)
        self.step_counter = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                            dtype="float32", name="anneal_step")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.nll_tracker = keras.metrics.Mean(name="nll")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.beta_tracker = keras.metrics.Mean(name="beta")

    @property
    def metrics(self):
        return [self.loss_tracker, self.nll_tracker, self.kl_tracker, self.beta_tracker]

    def encode(self, x, training=False):
        h = x / ops.maximum(ops.norm(x, axis=-1, keepdims=True), 1e-12)
        h = self.input_dropout(h, training=training)
        for layer in self.encoder:
            h = layer(h)
        return self.to_mean(h), self.to_log_var(h)

    def decode(self, z):
        for layer in self.decoder:
            z = layer(z)
        return self.to_logits(z)

    def call(self, inputs, training=False):
        x = ops.concatenate([inputs["x_a"], inputs["x_b"]], axis=-1)
        mean, log_var = self.encode(x, training=training)
        return self.decode(self.sample(mean, log_var, training=training)), mean, log_var

    def train_step(self, data):
        x = ops.concatenate([data["x_a"], data["x_b"]], axis=-1)
        beta = ops.minimum(self.config.beta_cap, self.step_counter / self.config.anneal_steps)
        with tf.GradientTape() as tape:
            logits, mean, log_var = self(data, training=True)
            nll = -ops.mean(multinomial_log_likelihood(x, logits))
            kl = ops.mean(kl_standard_normal(mean, log_var))
            loss = nll + beta * kl
            if self.losses:
                loss = loss + ops.sum(self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.step_counter.assign_add(1.0)
        for tracker, value in ((self.loss_tracker, loss), (self.nll_tracker, nll),
                               (self.kl_tracker, kl), (self.beta_tracker, beta)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def cross_domain_scores(self, x_source, direction: str):
        """Logits over the target domain's items from the source domain's clicks."""
        batch = ops.shape(x_source)[0]
        if direction == "a_to_b":
            x = ops.concatenate([x_source, ops.zeros((batch, self.num_items_b))], axis=-1)
        else:
            x = ops.concatenate([ops.zeros((batch, self.num_items_a)), x_source], axis=-1)
        mean, _ = self.encode(x, training=False)
        logits = self.decode(mean)
        if direction == "a_to_b":
            return logits[:, self.num_items_a:]
        return logits[:, : self.num_items_a]


@registered("multivae", MultiVAEConfig, "clicks",
            "Multi-VAE on concatenated click vectors (Liang et al. 2018; D2D-TM baseline)")
def build_multivae(config: MultiVAEConfig, sizes: dict, seed: int) -> MultiVAE:
    model = MultiVAE(sizes["num_items_a"], sizes["num_items_b"], config, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    return model
