"""Factorization machine (Rendle 2010) and DeepFM (Guo et al. 2017) for CTR."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfxdr.config import LEARNING_RATE, CtrTrainConfig, LogUniform, Uniform, require
from tfxdr.registry import register


@dataclasses.dataclass
class FMCtrConfig(CtrTrainConfig):
    """Adam on the cross-entropy, as DeepFM's paper trains its FM baseline.

    Args:
        embedding_dim: factors per field (k); 10, the latent dimension DeepFM's
            paper gives its FM.
        l2: weight of the L2 penalty on the first-order weights and on the
            factors each row reads.

    Search space: the step size and the L2 weight.
    """

    embedding_dim: int = 10
    l2: float = 1e-6
    search_space = {"learning_rate": LEARNING_RATE, "l2": LogUniform(1e-8, 1e-4)}

    def validate(self) -> None:
        super().validate()
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")


@dataclasses.dataclass
class DeepFMConfig(FMCtrConfig):
    """The FM's fields and factors, plus the MLP of the paper's experiments.

    Args:
        hidden_units: the MLP's layers (the paper: 400-400-400, a constant shape
            being its best in Sec. 3.3).
        activation: the MLP's activation (the paper: ReLU).
        dropout: dropout after each hidden layer (the paper: 0.5).

    Search space: the step size, the L2 weight and the dropout (0 to the
    paper's 0.5; Sec. 3.3 found keeping 0.6 to 0.9 of the units best).
    """

    hidden_units: tuple[int, ...] = (400, 400, 400)
    activation: Literal["relu", "tanh"] = "relu"
    dropout: float = 0.5
    search_space = {"learning_rate": LEARNING_RATE, "l2": LogUniform(1e-8, 1e-4),
                    "dropout": Uniform(0.0, 0.5)}

    def validate(self) -> None:
        super().validate()
        require(self, "hidden_units", all(int(u) >= 1 for u in self.hidden_units),
                "a list of integers >= 1")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")


register("fm_ctr", "tfxdr.models.deepfm:FMCtr", FMCtrConfig, "ctr",
         "factorization machine on all fields, genres and histories as mean-pooled fields")
register("deepfm", "tfxdr.models.deepfm:DeepFM", DeepFMConfig, "ctr",
         "DeepFM (Guo et al. 2017): the FM and an MLP on the same field embeddings")
