"""CNAN-AT (DAAN, Qiu et al.): attention, Deep & Cross and adversarial weights."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from tfxdr.config import LEARNING_RATE, CtrTrainConfig, LogUniform, TwoPlayerConfig, require
from tfxdr.hparams.deep_cross_base import GatedCrossConfig
from tfxdr.registry import register


@dataclasses.dataclass
class CNANATConfig(GatedCrossConfig, TwoPlayerConfig, CtrTrainConfig):
    """Hyperparameters (the paper: embeddings 64 + 8, gates 64x32x1, Deep & Cross with
    two cross layers and FCN 512x256, Adam at 1e-3; it gives no lambda values).

    Args:
        specific_dim: domain-specific embedding size of every field (8).
        lambda_1..lambda_4: weights of L_adv, L_0, L_1 and the L2 term.
        discriminator_reads_shared: train D on O_c too (see the module docstring).
        discriminator_input_activation: ``tanh`` squashes what D reads.  L_0 and L_1
            are minimised without bound by scaling O_0 and O_1 up, which swamps
            the click heads that read them (planted data: AUC 0.5 instead of
            0.89 with ``none``).
        specific_loss_to_embeddings: let L_0 and L_1 train the embedding tables.
            The paper does; but every domain's items are its own, so the domain
            is trivially visible in the embeddings, and these losses then
            reshape the tables the click predictors share: on planted data the
            model stays at AUC 0.50 (0.63 with lambda_2 = lambda_3 = 0.1),
            against 0.89 when L_0 and L_1 train only the domain networks and D.
            Off, the domain networks run a second time on the embeddings held
            fixed for these two losses (training costs about 1.5 times more).
        ablation: ``cnan_at`` (full), ``cnan1`` or ``cnan2``.

    Search space: the step size and the four loss weights, which the paper names
    without values: lambda_1..lambda_3 over three decades around 1, lambda_4 around
    its default.
    """

    specific_dim: int = 8
    lambda_1: float = 1.0
    lambda_2: float = 1.0
    lambda_3: float = 1.0
    lambda_4: float = 1e-6
    discriminator_reads_shared: bool = True
    discriminator_input_activation: Literal["tanh", "none"] = "tanh"
    specific_loss_to_embeddings: bool = False
    ablations: ClassVar[tuple[str, ...]] = ("cnan_at", "cnan1", "cnan2")
    ablation: str = "cnan_at"
    search_space = {"learning_rate": LEARNING_RATE, "lambda_1": LogUniform(0.01, 10.0),
                    "lambda_2": LogUniform(0.01, 10.0), "lambda_3": LogUniform(0.01, 10.0),
                    "lambda_4": LogUniform(1e-8, 1e-4)}

    def validate(self) -> None:
        super().validate()
        require(self, "ablation", self.ablation in self.ablations,
                "one of " + ", ".join(self.ablations))
        require(self, "specific_dim", self.specific_dim >= 0, "an integer >= 0")
        for name in ("lambda_1", "lambda_2", "lambda_3", "lambda_4"):
            require(self, name, getattr(self, name) >= 0.0, "a number >= 0")


register("cnan_at", "tfxdr.models.cnan_at:CNANAT", CNANATConfig, "ctr",
         "CNAN-AT (DAAN): domain-aware attention and Deep & Cross with adversarial training")
