"""The domain-adversarial losses shared by DADIN, DANN and DANN-DCN."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfxdr.config import Config, TwoPlayerConfig, require


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
