"""Raw id -> contiguous index maps for the sequence builders.

Indices follow the sorted raw ids, so the same interactions always give the
same indices.  (Runs describe their features with :mod:`tfxdr.features`.)
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

import numpy as np
import pandas as pd


@dataclasses.dataclass
class Vocabulary:
    """An ordered list of raw ids; ``index`` maps raw ids to positions."""

    ids: list[str]

    def __post_init__(self) -> None:
        self._lookup = pd.Index(self.ids)

    @classmethod
    def from_values(cls, values: Iterable[str]) -> "Vocabulary":
        return cls(sorted(set(map(str, values))))

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, values: Iterable[str]) -> np.ndarray:
        """int64 positions of ``values``; -1 for ids not in the vocabulary."""
        return self._lookup.get_indexer(pd.Index(list(values))).astype(np.int64)


@dataclasses.dataclass
class Vocabularies:
    """The user vocabulary and one item vocabulary per domain."""

    users: Vocabulary
    items: dict[str, Vocabulary]

    @classmethod
    def build(cls, frame: pd.DataFrame, domains: Iterable[str]) -> "Vocabularies":
        items = {
            d: Vocabulary.from_values(frame.loc[frame["domain"] == d, "item_id"]) for d in domains
        }
        return cls(Vocabulary.from_values(frame["user_id"]), items)
