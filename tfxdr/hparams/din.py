"""DIN (Zhou et al. 2018) on all domains' instances as one table."""

from __future__ import annotations

import dataclasses

from tfxdr.config import CtrTrainConfig, require
from tfxdr.registry import register


@dataclasses.dataclass
class DINConfig(CtrTrainConfig):
    """Hyperparameters; embedding size and training schedule match DADIN's defaults."""

    embedding_dim: int = 64
    hidden_units: tuple[int, ...] = (200, 80)
    l2: float = 0.0

    def validate(self) -> None:
        super().validate()
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "hidden_units", all(int(u) >= 1 for u in self.hidden_units),
                "a list of integers >= 1")
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")


register("din", "tfxdr.models.din:DIN", DINConfig, "ctr",
         "DIN: deep interest network on all domains' instances as one table (baseline)")
