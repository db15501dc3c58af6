"""The loss of DADIN-style domain-adversarial models: clicks plus reversed domain losses."""

from __future__ import annotations

import dataclasses
from typing import Literal

import keras

from tfxdr.config import Config, TwoPlayerConfig, require
from tfxdr.errors import TrainingError
from tfxdr.layers import ReversalWarmup
from tfxdr.models.ctr_base import CtrModel


@dataclasses.dataclass
class AdversarialLossConfig(TwoPlayerConfig, Config):
    """The weights of DADIN's loss (Eq. 21-22) and of its gradient reversal.

    The domain classifiers are the second player: they have their own Adam
    (``d_learning_rate``, by default the model's learning rate) and take one
    update per step on the same forward pass as the rest of the model.

    Args:
        lambda_1, lambda_2, lambda_3: weights of the click, global domain and
            intra-class domain losses.
        alpha: weight of L_d^0 against L_d^1.
        threshold: T, the prediction above which an instance counts as positive
            for the intra-class classifiers.
        grl_scale: the reversed gradient's lambda.
        loss_form: ``eq22`` or ``eq21``, see :func:`tfxdr.models.dadin.intra_class_loss`.
        grl_warmup_gamma: 0 keeps lambda constant (the paper); > 0 raises it from
            0 towards ``grl_scale`` as 2 / (1 + exp(-gamma p)) - 1 over training
            progress p, DANN's schedule (gamma = 10 there).
        classifier_input_activation: ``tanh`` squashes the features the domain
            classifiers read (see :class:`tfxdr.layers.DomainClassifier`).
    """

    lambda_1: float = 1.0
    lambda_2: float = 1.0
    lambda_3: float = 1.0
    alpha: float = 0.5
    threshold: float = 0.5
    grl_scale: float = 1.0
    loss_form: Literal["eq22", "eq21"] = "eq22"
    grl_warmup_gamma: float = 0.0
    classifier_input_activation: Literal["none", "tanh"] = "none"

    def validate(self) -> None:
        super().validate()
        for name in ("lambda_1", "lambda_2", "lambda_3", "grl_scale", "grl_warmup_gamma"):
            require(self, name, getattr(self, name) >= 0.0, "a number >= 0")
        require(self, "alpha", 0.0 <= self.alpha <= 1.0, "a number in [0, 1]")
        require(self, "threshold", 0.0 < self.threshold < 1.0, "a number in (0, 1)")

    @property
    def classifier_activation(self) -> str | None:
        return None if self.classifier_input_activation == "none" else "tanh"


class DomainAdversarialModel(CtrModel):
    """Click loss plus gradient-reversed domain losses, in one step of both players.

    L = lambda_1 L_y + lambda_2 L_d + lambda_3 L_intra (DADIN Eq. 21-22).  The
    domain classifiers read the features through a gradient reversal, so
    minimising L trains them to tell the domains apart (their optimizer takes
    L's gradient on their weights) and the features to hide them.

    Subclasses implement ``features(indices, training)`` -> (h, h_DA, ...),
    ``predict_logit(h, training)`` and ``domain_losses(h_DA, y_hat, domain)`` ->
    ``{"domain_loss", "intra_loss"}`` (the weighted terms), and list the
    classifiers' variables in ``discriminator_variables``.  Batches are
    (features, click labels[, sample weights]); a zero weight leaves an instance
    out of the click loss but not out of the domain losses, which is how
    unlabeled target data takes part.
    """

    loss_terms = ("loss", "ctr_loss", "domain_loss", "intra_loss")
    discriminator_objective = "loss"

    def training_callbacks(self, total_steps: int | None) -> list:
        """The reversal warm-up when ``config.grl_warmup_gamma`` > 0 (else constant lambda)."""
        gamma = self.config.grl_warmup_gamma
        if gamma <= 0:
            return []
        if total_steps is None:
            raise TrainingError("grl_warmup_gamma > 0 needs a training dataset of known length",
                                field="grl_warmup_gamma")
        return [ReversalWarmup(total_steps, gamma)]

    def logits(self, features, training=False):
        return self.predict_logit(self.features(features, training=training)[0],
                                  training=training)

    def compute_losses(self, data, training=True):
        cfg = self.config
        inputs, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        indices = self.indices(inputs, training)
        h, h_da = self.features(indices, training=training)[:2]
        logits = self.predict_logit(h, training=training)
        ctr_loss = self.click_loss(labels, logits, sample_weight)
        domain = self.domain_losses(h_da, logits, indices["domain"])
        loss = (cfg.lambda_1 * ctr_loss + cfg.lambda_2 * domain["domain_loss"]
                + cfg.lambda_3 * domain["intra_loss"])
        return {"loss": loss, "ctr_loss": ctr_loss, **domain}
