"""The training step shared by DADIN-style domain-adversarial models."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from tfxdr.losses import intra_class_domain_loss

TRACKED = ("loss", "ctr_loss", "domain_loss", "intra_loss")


class DomainAdversarialModel(keras.Model):
    """Click loss plus gradient-reversed domain losses, in one optimizer step.

    L = lambda_1 L_y + lambda_2 L_d + lambda_3 L_intra (DADIN Eq. 21-22), where
    L_d and L_intra come from :class:`tfxdr.layers.DomainClassifiers` on h_DA.
    Because the reversal flips the features' gradient, minimising L trains the
    classifiers to tell the domains apart and the features to hide them.

    Subclasses set ``self.config`` (with ``lambda_1..3``, ``alpha``,
    ``loss_form`` and ``has(part)`` for ``global`` / ``intra``) and
    ``self.domain_classifiers``, and implement ``features(inputs, training)``
    returning (h, h_DA, ...) and ``predict_logit(h, training)``.  Batches are
    (features with a ``domain`` entry, click labels).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in TRACKED}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        h = self.features(inputs, training=training)[0]
        return ops.sigmoid(self.predict_logit(h, training=training))

    def adversarial_losses(self, inputs, labels, training=True) -> dict:
        """Every loss term of a batch, and their weighted ``loss``."""
        cfg = self.config
        h, h_da = self.features(inputs, training=training)[:2]
        logits = self.predict_logit(h, training=training)
        ctr_loss = ops.mean(ops.binary_crossentropy(ops.cast(labels, "float32"), logits,
                                                    from_logits=True))
        domain = self.domain_classifiers(h_da, ops.sigmoid(logits), inputs["domain"])
        intra = intra_class_domain_loss(domain["negative"], domain["positive"], cfg.alpha,
                                        cfg.loss_form)
        loss = cfg.lambda_1 * ctr_loss
        if cfg.has("global"):
            loss = loss + cfg.lambda_2 * domain["global"]
        if cfg.has("intra"):
            loss = loss + cfg.lambda_3 * intra
        return {"loss": loss, "ctr_loss": ctr_loss, "domain_loss": domain["global"],
                "intra_loss": intra}

    def train_step(self, data):
        inputs, labels = data
        with tf.GradientTape() as tape:
            losses = self.adversarial_losses(inputs, labels, training=True)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(losses["loss"], variables), variables)
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
