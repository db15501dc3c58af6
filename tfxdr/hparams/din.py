"""DIN (Zhou et al. 2018) on all domains' instances as one table."""

from __future__ import annotations

import dataclasses

from tfxdr.config import LEARNING_RATE, Choice, CtrTrainConfig, LogUniform, require
from tfxdr.registry import register


@dataclasses.dataclass
class DINConfig(CtrTrainConfig):
    """Hyperparameters; embedding size and training schedule match DADIN's defaults.

    Search space: the step size, the batch and the L2 weight (DIN regularises its
    MLP; the sizes are the paper's)."""

    embedding_dim: int = 64
    hidden_units: tuple[int, ...] = (200, 80)
    l2: float = 0.0
    search_space = {"learning_rate": LEARNING_RATE, "l2": LogUniform(1e-8, 1e-4),
                    "batch_size": Choice((512, 1024, 2048))}

    def validate(self) -> None:
        super().validate()
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "hidden_units", all(int(u) >= 1 for u in self.hidden_units),
                "a list of integers >= 1")
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")


register("din", "tfxdr.models.din:DIN", DINConfig, "ctr",
         "DIN: deep interest network on all domains' instances as one table (baseline)")
