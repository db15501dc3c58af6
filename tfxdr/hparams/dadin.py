"""DADIN (Li et al.) and its DANN baseline: sizes, loss weights and ablations."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from tfxdr.config import LEARNING_RATE, CtrTrainConfig, LogUniform, Uniform, require
from tfxdr.hparams.adversarial import AdversarialLossConfig
from tfxdr.registry import register

ABLATIONS = ("dadin",) + tuple(f"dadin{i}" for i in range(1, 10))
REMOVED = {
    "dadin1": {"attention"}, "dadin2": {"interest"}, "dadin3": {"bi"}, "dadin4": {"dnn"},
    "dadin5": {"bi", "dnn"}, "dadin6": {"da"}, "dadin7": {"global"}, "dadin8": {"intra"},
    "dadin9": {"global", "intra"}, "dann": {"da", "intra"},
}


@dataclasses.dataclass
class DADINConfig(AdversarialLossConfig, CtrTrainConfig):
    """Hyperparameters (the paper: embedding 64, Adam, lambda_1..3 = 1, alpha = 0.5).

    The loss weights and the reversal are :class:`AdversarialLossConfig`'s.

    Args:
        ablation: ``dadin`` (full) or ``dadin1``..``dadin9`` (Sec. 4.4): 1 average
            pooling of histories, 2 equal interest weights, 3 no Bi-interaction,
            4 no DNN, 5 no feature crossing, 6 no domain-agnostic layer, 7 no global
            domain loss, 8 no intra-class losses, 9 no adversarial losses.
        interest_log_cap: the exponent of Eq. 6 is capped here; unbounded, exp()
            overflows early in training and the losses become NaN.
        agnostic_activation: f of h_DA = f(h_spec), which the paper leaves open.
            tanh keeps h_DA bounded; with ReLU the reversed gradient drives the
            features to grow without limit to saturate the domain classifiers.

    Search space: the step size, the predictor's dropout and the weights of Eq. 22
    that the paper sets (the domain losses' lambda_2 and lambda_3, a decade either
    side of 1, and alpha); lambda_1 weights the click loss, the scale of the rest.
    """

    embedding_dim: int = 64
    dnn_hidden: int = 128
    predictor_units: int = 100
    predictor_dropout: float = 0.2
    predictor_activation: Literal["relu", "linear"] = "relu"
    interest_log_cap: float = 3.0
    agnostic_activation: Literal["tanh", "relu"] = "tanh"
    ablations: ClassVar[tuple[str, ...]] = ABLATIONS
    ablation: str = "dadin"
    search_space = {"learning_rate": LEARNING_RATE, "predictor_dropout": Uniform(0.0, 0.5),
                    "lambda_2": LogUniform(0.1, 10.0), "lambda_3": LogUniform(0.1, 10.0),
                    "alpha": Uniform(0.0, 1.0)}

    def validate(self) -> None:
        super().validate()
        require(self, "ablation", self.ablation in self.ablations,
                "one of " + ", ".join(self.ablations))
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "predictor_dropout", 0.0 <= self.predictor_dropout < 1.0,
                "a number in [0, 1)")

    def has(self, part: str) -> bool:
        """Whether the ablation keeps ``part`` (attention, interest, bi, dnn, da, global, intra)."""
        return part not in REMOVED.get(self.ablation, set())


@dataclasses.dataclass
class DANNConfig(DADINConfig):
    """DANN on DADIN's feature extractor: one gradient-reversed domain classifier.

    The extractor (attention-pooled histories, interest weights, Bi-interaction,
    FC layers) and the label predictor are DADIN's; the domain classifier sees
    h_spec directly, with no domain-agnostic layer and no intra-class classifiers.

    h_spec is a ReLU output with no bound: with a linear classifier on it, the
    reversed gradient grows it until the domain loss reaches ~1e4 and the click
    predictor collapses to chance (planted test data at lambda = 1; ML-1M even
    at lambda = 0.1).  The classifier therefore reads tanh(h_spec)
    (``classifier_input_activation``), which makes the reversed gradient vanish
    as features grow.

    Search space: the step size, the predictor's dropout and the reversal's lambda
    (Ganin et al. choose it on validation); DANN has no intra-class losses.

    Reference: Ganin et al. Domain-Adversarial Training of Neural Networks. JMLR 2016.
    """

    classifier_input_activation: Literal["none", "tanh"] = "tanh"
    ablations: ClassVar[tuple[str, ...]] = ("dann",)
    ablation: str = "dann"
    search_space = {"learning_rate": LEARNING_RATE, "predictor_dropout": Uniform(0.0, 0.5),
                    "grl_scale": LogUniform(0.01, 1.0)}


register("dadin", "tfxdr.models.dadin:DADIN", DADINConfig, "ctr",
         "DADIN: domain-adversarial deep interest network for cross-domain CTR",
         min_domains=2, max_domains=2)
register("dann", "tfxdr.models.dadin:DADIN", DANNConfig, "ctr",
         "DANN: DADIN's extractor with one gradient-reversal domain classifier (baseline)",
         min_domains=2, max_domains=2)
