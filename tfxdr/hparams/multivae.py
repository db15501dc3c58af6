"""Multi-VAE (Liang et al. 2018), the click-translation baseline of D2D-TM."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfxdr.config import TrainConfig, require
from tfxdr.registry import register


BAGS_FROM_ITEMS = 10_000


@dataclasses.dataclass
class MultiVAEConfig(TrainConfig):
    """Hyperparameters.

    Architecture ``I-600-200-50-200-600-I`` is the one D2D-TM reports for its
    Multi-VAE baseline; the rest (tanh, input L2 normalisation and dropout 0.5,
    KL weight annealed linearly to ``beta_cap`` = 0.2, Adam 1e-3, batch 500)
    is Liang et al.'s.  ``anneal_steps`` is shortened from their 200,000
    updates, which suit a 100k-user dataset, to a value that reaches the cap
    within a MovieLens-sized run.

    ``click_inputs``: ``bags`` reads the clicks as bags (the first layer sums the
    kernel rows of the clicked items, the likelihood reads the log-softmax at
    them: a cost that follows the clicks, not the catalogue); ``dense`` builds
    the click vectors and multiplies them (the same function; the input dropout
    draws its mask differently); ``auto`` takes bags from ``BAGS_FROM_ITEMS``
    items over every domain, below which the dense product is faster on CPU
    (``benchmarks/click_step.py``: bags take 0.71-0.89 of the dense time at 10k
    items, 1.18 at 3k with 50 clicks per user and domain).
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
    click_inputs: Literal["auto", "bags", "dense"] = "auto"

    def validate(self) -> None:
        super().validate()
        require(self, "hidden_dims", all(d >= 1 for d in self.hidden_dims), "positive sizes")
        require(self, "latent_dim", self.latent_dim >= 1, "an integer >= 1")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")
        require(self, "beta_cap", self.beta_cap >= 0.0, "a number >= 0")
        require(self, "anneal_steps", self.anneal_steps >= 1, "an integer >= 1")
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")

    def reads_bags(self, num_items: int) -> bool:
        """Whether a model of ``num_items`` items over every domain reads bags."""
        if self.click_inputs == "auto":
            return num_items >= BAGS_FROM_ITEMS
        return self.click_inputs == "bags"


register("multivae", "tfxdr.models.multivae:MultiVAE", MultiVAEConfig, "clicks",
         "Multi-VAE on concatenated click vectors (Liang et al. 2018; D2D-TM baseline)")
