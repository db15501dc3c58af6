"""Logistic regression, the CTR floor."""

from __future__ import annotations

import dataclasses

from tfxdr.config import CtrTrainConfig, require
from tfxdr.registry import register


@dataclasses.dataclass
class LRConfig(CtrTrainConfig):
    """Adam on the cross-entropy; ``l2`` on the per-value weights."""

    l2: float = 1e-6
    epochs: int = 20
    batch_size: int = 1024
    learning_rate: float = 1e-2
    patience: int = 3

    def validate(self) -> None:
        super().validate()
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")


register("lr", "tfxdr.models.lr:LogisticRegression", LRConfig, "ctr",
         "logistic regression on all fields and history items (CTR floor)")
