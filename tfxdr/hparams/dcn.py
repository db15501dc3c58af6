"""Deep & Cross baselines of DAAN: Self-train, Src-only, FineTune, DANN on DCN."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfxdr.config import LEARNING_RATE, CtrTrainConfig, LogUniform, Uniform, require
from tfxdr.hparams.adversarial import AdversarialLossConfig
from tfxdr.hparams.deep_cross_base import GatedCrossConfig
from tfxdr.registry import register


@dataclasses.dataclass
class DCNConfig(GatedCrossConfig, CtrTrainConfig):
    """Hyperparameters: CNAN-AT's extractor and schedule.

    Args:
        specific_dim: domain-specific embedding size (8, as CNAN-AT; trained on
            one domain it simply widens the embedding).
        gated: use the field gates (the paper's base models have them).
        l2: weight of the L2 term on the network weights (CNAN-AT's lambda_4).
        source_epochs: epochs on the source domains (all but the last) before the
            fine-tuning epochs on the target, the last (``dcn_finetune``; 0 trains on
            every domain at once).

    Search space: the step size, the L2 weight and the FCN's dropout; the sizes are
    the paper's.
    """

    specific_dim: int = 8
    gated: bool = True
    l2: float = 1e-6
    source_epochs: int = 0
    search_space = {"learning_rate": LEARNING_RATE, "l2": LogUniform(1e-8, 1e-4),
                    "dropout": Uniform(0.0, 0.5)}

    def validate(self) -> None:
        super().validate()
        require(self, "specific_dim", self.specific_dim >= 0, "an integer >= 0")
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")
        require(self, "source_epochs", 0 <= self.source_epochs < self.epochs,
                f"an integer in [0, epochs={self.epochs})")
        if self.source_epochs:
            require(self, "train_domains", self.train_domains in ("all", "both"),
                    "all (source epochs then target epochs need every domain)")


@dataclasses.dataclass
class DCNFineTuneConfig(DCNConfig):
    """``dcn`` trained on the source, then fine-tuned on the target (the paper's FineTune).

    Early stopping only counts fine-tuning epochs, so ``epochs`` is the source
    epochs plus at most ``epochs - source_epochs`` target epochs.
    """

    source_epochs: int = 5
    epochs: int = 15

    def validate(self) -> None:
        super().validate()
        require(self, "source_epochs", self.source_epochs >= 1, "an integer >= 1")


@dataclasses.dataclass
class DANNDCNConfig(GatedCrossConfig, AdversarialLossConfig, CtrTrainConfig):
    """DANN on the Deep & Cross extractor: fully shared, one reversed domain classifier.

    ``lambda_2`` weights the domain loss and ``grl_scale`` is the reversal's
    lambda (:class:`AdversarialLossConfig`; the intra-class terms are unused).
    The classifier reads tanh of the extractor's unbounded output, as ``dann``'s
    does (see :class:`tfxdr.models.dadin.DANNConfig`); with n > 2 domains it is
    an n-way softmax.

    ``grl_scale`` defaults to 0.1, chosen on validation: on ML-100K
    (Drama -> Comedy, seeds 0-1) the target's validation AUC was 0.7205 with
    0.1 against 0.7140 with 1.0, and on planted data a reversal of 0.3 or more
    keeps the extractor from learning clicks that need a history interaction.

    Search space: the step size, the reversal's lambda and the FCN's dropout.
    """

    grl_scale: float = 0.1
    search_space = {"learning_rate": LEARNING_RATE, "grl_scale": LogUniform(0.01, 1.0),
                    "dropout": Uniform(0.0, 0.5)}
    classifier_input_activation: Literal["none", "tanh"] = "tanh"


register("dcn", "tfxdr.models.dcn:DCN", DCNConfig, "ctr",
         "Deep & Cross with field gates on some domains or all (DAAN's Self-train, Src-only)")
register("dcn_finetune", "tfxdr.models.dcn:DCN", DCNFineTuneConfig, "ctr",
         "Deep & Cross trained on the source, fine-tuned on the target (DAAN's FineTune)")
register("dann_dcn", "tfxdr.models.dcn:DANNDCN", DANNDCNConfig, "ctr",
         "DANN on the Deep & Cross extractor: one gradient-reversal domain classifier")
