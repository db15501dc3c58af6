"""Multi-domain matching baselines: input lengths, positives, negatives, sizes."""

from __future__ import annotations

import dataclasses

from tfxdr.config import LEARNING_RATE, Choice, TrainConfig, require
from tfxdr.hparams.recguru import BERT4RecConfig
from tfxdr.registry import register


@dataclasses.dataclass
class MatchingConfig(TrainConfig):
    """What every matching model shares.

    Args:
        max_len: the most recent items a model reads per domain (50 in AFT).
        dim: the size of item and user vectors (64).
        num_positives: the clicks after each training cut that a domain teaches.
        num_negatives: uniformly drawn items per user and domain in the loss.
        top_k: items the exported retrieval returns (200, the paper's serving).
        epochs, patience, learning_rate: each model's learning rate was chosen
            among 1e-3, 3e-3 and 1e-2 on the validation split of ML-1M
            Comedy/Action/Horror (docs/results/aft_ml1m.md): 1e-3 for AFT, 3e-3
            for the baselines.  Every model there was still improving after 30
            epochs, and some stalled on a plateau for 5 before rising: 60 and 10.

    Search space of the baselines: the step size and the batch.
    """

    max_len: int = 50
    dim: int = 64
    num_positives: int = 10
    num_negatives: int = 50
    top_k: int = 200
    epochs: int = 60
    batch_size: int = 256
    learning_rate: float = 1e-3
    patience: int = 10
    search_space = {"learning_rate": LEARNING_RATE, "batch_size": Choice((128, 256, 512))}

    def validate(self) -> None:
        super().validate()
        for name in ("max_len", "dim", "num_positives", "num_negatives"):
            require(self, name, getattr(self, name) >= 1, "an integer >= 1")


@dataclasses.dataclass
class TwoTowerConfig(MatchingConfig):
    """``hidden_units``: the user tower's hidden layers (a last layer of ``dim`` follows)."""

    hidden_units: tuple[int, ...] = (256, 128)
    learning_rate: float = 3e-3

    def validate(self) -> None:
        super().validate()
        require(self, "hidden_units", all(u >= 1 for u in self.hidden_units),
                "integers >= 1")


@dataclasses.dataclass
class SharedBottomConfig(MatchingConfig):
    """``bottom_units``: the shared MLP; ``tower_units``: each domain's tower (a last
    layer of ``dim`` follows)."""

    bottom_units: tuple[int, ...] = (256, 128)
    tower_units: tuple[int, ...] = (64,)
    learning_rate: float = 3e-3

    def validate(self) -> None:
        super().validate()
        for name in ("bottom_units", "tower_units"):
            require(self, name, bool(getattr(self, name))
                    and all(u >= 1 for u in getattr(self, name)), "integers >= 1")


@dataclasses.dataclass
class MMoEConfig(MatchingConfig):
    """``num_experts`` MLPs of ``expert_units``, mixed per domain by a softmax gate, under
    each domain's tower of ``tower_units`` (a last layer of ``dim`` follows)."""

    num_experts: int = 4
    expert_units: tuple[int, ...] = (256, 128)
    tower_units: tuple[int, ...] = (64,)
    learning_rate: float = 3e-3

    def validate(self) -> None:
        super().validate()
        require(self, "num_experts", self.num_experts >= 1, "an integer >= 1")
        for name in ("expert_units", "tower_units"):
            require(self, name, bool(getattr(self, name))
                    and all(u >= 1 for u in getattr(self, name)), "integers >= 1")


@dataclasses.dataclass
class FMConfig(MatchingConfig):
    """A factorization machine: ``dim``-dimensional item vectors and an item bias."""

    learning_rate: float = 3e-3


@dataclasses.dataclass
class BERT4RecMatchingConfig(BERT4RecConfig):
    """BERT4Rec per domain on the matching task: the inputs before each training cut
    are its sequences (positives unused), and it ranks a domain's items after the
    user's last 50 (``num_positives``: what the task's cut holds out, unread).
    Learning rate 1e-3, 60 epochs and patience 10, as chosen with the other
    matching models (:class:`MatchingConfig`)."""

    max_len: int = 50
    num_positives: int = 10
    top_k: int = 200
    epochs: int = 60
    patience: int = 10


@dataclasses.dataclass
class MatchingPopConfig(TrainConfig):
    """One counting pass over the training cuts (inputs and positives of every domain);
    nothing to tune."""

    max_len: int = 50
    num_positives: int = 10
    top_k: int = 200
    epochs: int = 1
    batch_size: int = 512

    def validate(self) -> None:
        super().validate()
        for name in ("max_len", "num_positives"):
            require(self, name, getattr(self, name) >= 1, "an integer >= 1")


register("two_tower", "tfxdr.models.two_tower:TwoTower", TwoTowerConfig, "matching",
         "two-tower matching: average pooling per domain + target embedding -> MLP "
         "(baseline)")
register("shared_bottom", "tfxdr.models.multitask:SharedBottom", SharedBottomConfig, "matching",
         "shared-bottom multi-task matching: a shared MLP, one tower per domain (baseline)")
register("mmoe", "tfxdr.models.multitask:MMoE", MMoEConfig, "matching",
         "MMoE (Ma et al. 2018): experts mixed by a gate per domain, one tower per domain "
         "(baseline)")
register("fm", "tfxdr.models.fm:FM", FMConfig, "matching",
         "factorization machine over every domain's clicks and the candidate (baseline)")
register("bert4rec_matching", "tfxdr.models.bert4rec:BERT4Rec", BERT4RecMatchingConfig,
         "matching", "BERT4Rec per domain on the matching task (single-domain baseline)")
register("pop_match", "tfxdr.models.pop_seq:SequencePopularity", MatchingPopConfig, "matching",
         "popularity of each domain's items, for matching (baseline)")
