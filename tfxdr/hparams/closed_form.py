"""Ridge, EASE and item-kNN: closed-form click translation, a grid value per epoch.

Their main hyperparameter (ridge's and EASE's L2 weight, item-kNN's shrinkage) is
a grid: the first epoch counts the training users' item co-occurrences and
solves with the first value, each later epoch solves with the next value, and
validation selection keeps the best epoch, so the value is chosen on the
validation users only, from one counting pass; the run ends after the grid's
last value.  ``tfxdr tune`` searches the same field as a grid of one value per
trial.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from tfxdr.config import Choice, LogUniform, TrainConfig, Uniform, require
from tfxdr.registry import register

L2_GRID = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0, 30000.0)


@dataclasses.dataclass
class ClosedFormConfig(TrainConfig):
    """What the closed-form models share.

    Args:
        max_items: the most items over every domain the model holds: it keeps
            two items x items float32 matrices (co-occurrences and the solution)
            and solves in float64, 40 MB at ML-1M Drama/Comedy's 2,226 items and
            9.6 GB at 20,000.
        batch_size: users per counting step (the counts do not depend on it).
        learning_rate: unused (nothing takes a gradient step).
        patience: larger than any grid, so that every value is tried.
        epochs: at least the grid's length; the run stops after its last value.
    """

    max_items: int = 20_000
    batch_size: int = 1000
    patience: int = 20

    def grid(self) -> tuple[float, ...]:
        """The values solved with, one per epoch."""
        raise NotImplementedError

    grid_field = ""

    def validate(self) -> None:
        super().validate()
        require(self, "max_items", self.max_items >= 1, "an integer >= 1")
        values = self.grid()
        require(self, self.grid_field, len(values) >= 1, "at least one value")
        require(self, self.grid_field, all(math.isfinite(v) for v in values),
                "finite numbers")
        require(self, "epochs", self.epochs >= len(values),
                f">= {len(values)} (one solve per {self.grid_field} value); pass "
                f"--set {self.grid_field}=V for one value")
        require(self, "patience", self.patience == 0 or self.patience >= len(values),
                f"0 or >= {len(values)} (every {self.grid_field} value is tried)")
        require(self, "eval_every", self.eval_every == 1,
                f"1 (every {self.grid_field} value is scored on validation)")


@dataclasses.dataclass
class RidgeConfig(ClosedFormConfig):
    """Args:
        l2: the ridge weights tried, one per epoch (each > 0)."""

    l2: tuple[float, ...] = L2_GRID
    epochs: int = len(L2_GRID)
    grid_field = "l2"
    search_space = {"l2": LogUniform(1.0, 1e5)}

    def grid(self) -> tuple[float, ...]:
        return tuple(self.l2)

    def validate(self) -> None:
        super().validate()
        require(self, "l2", all(v > 0 for v in self.l2), "numbers > 0")


@dataclasses.dataclass
class EASEConfig(RidgeConfig):
    """Args:
        l2: EASE's L2 weights tried, one per epoch (each > 0)."""


@dataclasses.dataclass
class ItemKNNConfig(ClosedFormConfig):
    """Args:
        shrink: cosine shrinkage values tried, one per epoch (each >= 0): the
            similarity of items i and j is c_ij / (sqrt(c_ii c_jj) + shrink), which
            pulls pairs seen by few users towards 0.
        neighbours: each target item keeps its this many most similar source
            items (0: all).
        similarity: ``cosine`` as above, or ``cooccurrence`` (c_ij itself; shrink
            unused).
    """

    shrink: tuple[float, ...] = (0.0, 10.0, 100.0)
    neighbours: int = 0
    similarity: Literal["cosine", "cooccurrence"] = "cosine"
    epochs: int = 3
    grid_field = "shrink"
    search_space = {"shrink": Uniform(0.0, 200.0), "neighbours": Choice((0, 20, 50, 100, 200))}

    def grid(self) -> tuple[float, ...]:
        return tuple(self.shrink)

    def validate(self) -> None:
        super().validate()
        require(self, "shrink", all(v >= 0 for v in self.shrink), "numbers >= 0")
        require(self, "neighbours", self.neighbours >= 0, "an integer >= 0 (0: all)")


register("ridge", "tfxdr.models.closed_form:Ridge", RidgeConfig, "clicks",
         "ridge regression from the source click vector to the target's, closed form "
         "(baseline)")
register("ease", "tfxdr.models.closed_form:EASE", EASEConfig, "clicks",
         "EASE (Steck 2019) over every domain's items; the target block scores the "
         "source clicks (baseline)")
register("itemknn", "tfxdr.models.closed_form:ItemKNN", ItemKNNConfig, "clicks",
         "item-kNN: cosine similarity of co-clicked items across domains (baseline)")
