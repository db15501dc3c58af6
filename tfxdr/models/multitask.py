"""Multi-task matching baselines: one tower per target domain over shared layers.

Both read the average item vector of every domain, concatenated.
``SharedBottom`` passes it through one shared MLP, then a tower per domain
(Caruana, 1997); ``MMoE`` through several expert MLPs that each domain's
softmax gate mixes before its tower (Ma et al., KDD 2018).  A tower ends in a
``dim`` layer: the user's vector for that domain.
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.models.matching_base import MatchingModel


def _mlp(units, output: int | None, name: str, inputs: int):
    layers = [keras.layers.Dense(u, activation="relu") for u in units]
    if output is not None:
        layers.append(keras.layers.Dense(output))
    mlp = keras.Sequential(layers, name=name)
    mlp.build((None, inputs))
    return mlp


class _Towers(MatchingModel):
    """The pooled input, the work every domain shares (``common``), and a tower per
    domain on top of ``shared(common, domain)``."""

    def build_towers(self, inputs: int) -> None:
        cfg = self.config
        self.towers = [_mlp(cfg.tower_units, cfg.dim, f"tower_{k}", inputs)
                       for k in range(self.num_domains)]

    def common_of(self, inputs, training=False):
        return self.common(ops.concatenate(self.pooled_domains(inputs), axis=-1), training)

    def tower(self, common, domain: int, training=False):
        return self.towers[domain](self.shared(common, domain), training=training)

    def user_vector(self, inputs, domain: int, training=False):
        return self.tower(self.common_of(inputs, training), domain, training)

    def user_vectors(self, inputs, training=False) -> list:
        common = self.common_of(inputs, training)
        return [self.tower(common, k, training) for k in range(self.num_domains)]


@keras.saving.register_keras_serializable(package="tfxdr")
class SharedBottom(_Towers):
    """One shared MLP under a tower per domain."""

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        self.bottom = _mlp(cfg.bottom_units, None, "bottom", self.num_domains * cfg.dim)
        self.build_towers(cfg.bottom_units[-1])
        self.built = True

    def common(self, features, training=False):
        return self.bottom(features, training=training)

    def shared(self, common, domain: int):
        return common


@keras.saving.register_keras_serializable(package="tfxdr")
class MMoE(_Towers):
    """``num_experts`` expert MLPs, a softmax gate per domain mixing them."""

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        width = self.num_domains * cfg.dim
        self.experts = [_mlp(cfg.expert_units, None, f"expert_{e}", width)
                        for e in range(cfg.num_experts)]
        self.gates = [keras.layers.Dense(cfg.num_experts, name=f"gate_{k}")
                      for k in range(self.num_domains)]
        for gate in self.gates:
            gate.build((None, width))
        self.build_towers(cfg.expert_units[-1])
        self.built = True

    def common(self, features, training=False):
        """The input features and [B, num_experts, units] every expert's output."""
        return features, ops.stack([e(features, training=training) for e in self.experts],
                                   axis=1)

    def shared(self, common, domain: int):
        features, experts = common
        weights = ops.softmax(self.gates[domain](features), axis=-1)
        return ops.einsum("be,bed->bd", weights, experts)
