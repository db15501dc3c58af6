"""Multi-VAE (Liang et al. 2018), the click-translation baseline of D2D-TM."""

from __future__ import annotations

import dataclasses

from tfxdr.config import (LEARNING_RATE, AdamUpdateConfig, Choice, ClickInputsConfig,
                          TrainConfig, Uniform, require)
from tfxdr.registry import register


@dataclasses.dataclass
class MultiVAEConfig(AdamUpdateConfig, ClickInputsConfig, TrainConfig):
    """Hyperparameters.

    Architecture ``I-600-200-50-200-600-I`` is the one D2D-TM reports for its
    Multi-VAE baseline; the rest (tanh, input L2 normalisation and dropout 0.5,
    KL weight annealed linearly to ``beta_cap`` = 0.2, Adam 1e-3, batch 500)
    is Liang et al.'s.  ``anneal_steps`` is shortened from their 200,000
    updates, which suit a 100k-user dataset, to a value that reaches the cap
    within a MovieLens-sized run.

    ``click_inputs``: see :class:`~tfxdr.config.ClickInputsConfig`; ``adam_update``:
    :class:`~tfxdr.config.AdamUpdateConfig`.

    Search space: what Liang et al. chose on validation, the KL cap in [0, 1], with
    the input dropout, the step size and the batch; the layer sizes are D2D-TM's.
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
    search_space = {"learning_rate": LEARNING_RATE, "dropout": Uniform(0.0, 0.7),
                    "beta_cap": Uniform(0.0, 1.0), "batch_size": Choice((128, 256, 500))}

    def validate(self) -> None:
        super().validate()
        require(self, "hidden_dims", all(d >= 1 for d in self.hidden_dims), "positive sizes")
        require(self, "latent_dim", self.latent_dim >= 1, "an integer >= 1")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")
        require(self, "beta_cap", self.beta_cap >= 0.0, "a number >= 0")
        require(self, "anneal_steps", self.anneal_steps >= 1, "an integer >= 1")
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")


register("multivae", "tfxdr.models.multivae:MultiVAE", MultiVAEConfig, "clicks",
         "Multi-VAE on concatenated click vectors (Liang et al. 2018; D2D-TM baseline)")
