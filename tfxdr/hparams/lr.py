"""Logistic regression, the CTR floor."""

from __future__ import annotations

import dataclasses

from tfxdr.config import CtrTrainConfig, LogUniform, require
from tfxdr.registry import register


@dataclasses.dataclass
class LRConfig(CtrTrainConfig):
    """Adam on the cross-entropy; ``l2`` on the per-value weights.

    Its step size is searched a decade either side of its default, 1e-2."""

    l2: float = 1e-6
    epochs: int = 20
    batch_size: int = 1024
    learning_rate: float = 1e-2
    patience: int = 3
    search_space = {"learning_rate": LogUniform(1e-3, 1e-1), "l2": LogUniform(1e-8, 1e-4)}

    def validate(self) -> None:
        super().validate()
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")


register("lr", "tfxdr.models.lr:LogisticRegression", LRConfig, "ctr",
         "logistic regression on all fields and history items (CTR floor)")
