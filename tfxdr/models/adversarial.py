"""The training step shared by DADIN-style domain-adversarial models."""

from __future__ import annotations

import dataclasses
from typing import Literal

import keras
import tensorflow as tf
from keras import ops

from tfxdr.config import require
from tfxdr.errors import TrainingError
from tfxdr.losses import intra_class_domain_loss
from tfxdr.models.tracked import LossTermsModel
from tfxdr.training import ReversalWarmup

TRACKED = ("loss", "ctr_loss", "domain_loss", "intra_loss")


@dataclasses.dataclass
class AdversarialLossConfig:
    """The weights of DADIN's loss (Eq. 21-22) and of its gradient reversal.

    Args:
        lambda_1, lambda_2, lambda_3: weights of the click, global domain and
            intra-class domain losses.
        alpha: weight of L_d^0 against L_d^1.
        threshold: T, the prediction above which an instance counts as positive
            for the intra-class classifiers.
        grl_scale: the reversed gradient's lambda.
        loss_form: ``eq22`` or ``eq21``, see :func:`tfxdr.losses.intra_class_domain_loss`.
        grl_warmup_gamma: 0 keeps lambda constant (the paper); > 0 raises it from
            0 towards ``grl_scale`` as 2 / (1 + exp(-gamma p)) - 1 over training
            progress p, DANN's schedule (gamma = 10 there).
    """

    lambda_1: float = 1.0
    lambda_2: float = 1.0
    lambda_3: float = 1.0
    alpha: float = 0.5
    threshold: float = 0.5
    grl_scale: float = 1.0
    loss_form: Literal["eq22", "eq21"] = "eq22"
    grl_warmup_gamma: float = 0.0

    def validate(self) -> None:
        for name in ("lambda_1", "lambda_2", "lambda_3", "grl_scale", "grl_warmup_gamma"):
            require(self, name, getattr(self, name) >= 0.0, "a number >= 0")
        require(self, "alpha", 0.0 <= self.alpha <= 1.0, "a number in [0, 1]")
        require(self, "threshold", 0.0 < self.threshold < 1.0, "a number in (0, 1)")
        if hasattr(super(), "validate"):
            super().validate()


class DomainAdversarialModel(LossTermsModel):
    """Click loss plus gradient-reversed domain losses, in one optimizer step.

    L = lambda_1 L_y + lambda_2 L_d + lambda_3 L_intra (DADIN Eq. 21-22), where
    L_d and L_intra come from :class:`tfxdr.layers.DomainClassifiers` on h_DA.
    Because the reversal flips the features' gradient, minimising L trains the
    classifiers to tell the domains apart and the features to hide them.

    Subclasses set ``self.config`` (with ``lambda_1..3``, ``alpha``,
    ``loss_form`` and ``has(part)`` for ``global`` / ``intra``) and
    ``self.domain_classifiers``, and implement ``features(inputs, training)``
    returning (h, h_DA, ...) and ``predict_logit(h, training)``.  Batches are
    (features with a ``domain`` entry, click labels[, sample weights]); a zero
    weight leaves an instance out of the click loss but not out of the domain
    losses, which is how unlabeled target data takes part.
    """

    per_batch_metrics = TRACKED

    def training_callbacks(self, total_steps: int | None) -> list:
        """The reversal warm-up when ``config.grl_warmup_gamma`` > 0 (else constant lambda)."""
        gamma = getattr(self.config, "grl_warmup_gamma", 0.0)
        if gamma <= 0:
            return []
        if total_steps is None:
            raise TrainingError("grl_warmup_gamma > 0 needs a training dataset of known length")
        return [ReversalWarmup(total_steps, gamma)]

    def call(self, inputs, training=False):
        h = self.features(inputs, training=training)[0]
        return ops.sigmoid(self.predict_logit(h, training=training))

    def adversarial_losses(self, inputs, labels, sample_weight=None, training=True) -> dict:
        """Every loss term of a batch, and their weighted ``loss``."""
        cfg = self.config
        h, h_da = self.features(inputs, training=training)[:2]
        logits = self.predict_logit(h, training=training)
        per_instance = ops.binary_crossentropy(ops.cast(labels, "float32"), logits,
                                               from_logits=True)
        if sample_weight is None:
            ctr_loss = ops.mean(per_instance)
        else:
            weight = ops.cast(sample_weight, per_instance.dtype)
            ctr_loss = ops.sum(per_instance * weight) / ops.maximum(ops.sum(weight), 1e-8)
        domain = self.domain_classifiers(h_da, ops.sigmoid(logits), inputs["domain"],
                                         intra=cfg.has("intra"))
        intra = intra_class_domain_loss(domain["negative"], domain["positive"], cfg.alpha,
                                        cfg.loss_form)
        loss = cfg.lambda_1 * ctr_loss
        if cfg.has("global"):
            loss = loss + cfg.lambda_2 * domain["global"]
        if cfg.has("intra"):
            loss = loss + cfg.lambda_3 * intra
        return {"loss": loss, "ctr_loss": ctr_loss, "domain_loss": domain["global"],
                "intra_loss": intra}

    def trained_variables(self) -> list:
        """Trainable variables less the classifiers of an ablated domain loss."""
        idle = {"global": not self.config.has("global"), "positive": not self.config.has("intra"),
                "negative": not self.config.has("intra")}
        skipped = {id(v) for name, off in idle.items() if off
                   for v in self.domain_classifiers.classifiers[name].trainable_variables}
        return [v for v in self.trainable_variables if id(v) not in skipped]

    def train_step(self, data):
        inputs, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            losses = self.adversarial_losses(inputs, labels, sample_weight, training=True)
        return self.minimise(tape, losses, self.trained_variables())
