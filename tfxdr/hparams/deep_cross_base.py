"""The gated Deep & Cross extractor shared by CNAN-AT and the DCN family."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfxdr.config import Config, require


@dataclasses.dataclass
class GatedCrossConfig(Config):
    """Hyperparameters of the embeddings and of one gated Deep & Cross network.

    Args:
        shared_dim: shared embedding size of every field (the paper: 64).
        gate_units: hidden sizes of each field's attention unit (64, 32).
        gate_activation: hidden activation of the units (Eq. 1: sigmoid).
        gate_per_field: one attention unit per field (Sec. 2.1: "an attention
            unit for feature embeddings e^j").  False shares one unit across a
            network's fields, the literal reading of Eq. 1's weights W^c, W^d;
            on ML-100K its gates came out equal for every field, and the
            adversarial loss drove the shared network's gates to ~0.004.
        cross_layers: cross layers (2).
        fcn_units: FCN sizes after the crosses (512, 256).
        cross_projection_dim: rank of each cross kernel.  1 (default) is closest
            to Eq. 2, whose cross weight is a vector: W = u v^T here, Eq. 2 being
            u = 1.  0 gives full-rank kernels (the later DCN), which cost
            (F K)^2 weights per layer.
        dropout: dropout after each FCN layer.
        use_histories: embed the click histories as bag fields (the paper's
            "personal behavior" features).
        continuous_buckets: as the paper discretizes its continuous features,
            numeric columns with many values are bucketed into this many
            quantile buckets of the training rows.
    """

    shared_dim: int = 64
    gate_units: tuple[int, ...] = (64, 32)
    gate_activation: Literal["sigmoid", "relu"] = "sigmoid"
    gate_per_field: bool = True
    cross_layers: int = 2
    fcn_units: tuple[int, ...] = (512, 256)
    cross_projection_dim: int = 1
    dropout: float = 0.0
    use_histories: bool = True
    continuous_buckets: int = 10

    def validate(self) -> None:
        super().validate()
        require(self, "shared_dim", self.shared_dim >= 1, "an integer >= 1")
        require(self, "gate_units", all(int(u) >= 1 for u in self.gate_units),
                "a list of integers >= 1")
        require(self, "cross_layers", self.cross_layers >= 0, "an integer >= 0")
        require(self, "fcn_units", all(int(u) >= 1 for u in self.fcn_units),
                "a list of integers >= 1")
        require(self, "cross_projection_dim", self.cross_projection_dim >= 0,
                "an integer >= 0 (0 = full rank)")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")
