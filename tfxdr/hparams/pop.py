"""Popularity: counts, nothing to tune."""

from __future__ import annotations

import dataclasses

from tfxdr.config import TrainConfig
from tfxdr.registry import register


@dataclasses.dataclass
class PopConfig(TrainConfig):
    """One counting pass over the training users; nothing else to tune."""

    epochs: int = 1
    batch_size: int = 1000


register("pop", "tfxdr.models.pop:Popularity", PopConfig, "clicks",
         "popularity in the target domain (baseline)")
