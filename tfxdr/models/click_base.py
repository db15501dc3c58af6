"""What every click-translation model shares: click vectors per domain, translation.

A request holds, per domain, the raw ids of the items a user clicked
(``items_<domain>``, [B, T], padded); the model turns them into indices with
its preprocessing layer and into 0/1 click vectors over the domain's known
items with :class:`~tfxdr.layers.MultiHot`.  ``translate`` scores every item of
a target domain from the clicks in a source domain.
"""

from __future__ import annotations

import keras

from tfxdr.config import AdamUpdateConfig, ClickInputsConfig
from tfxdr.features import items_input
from tfxdr.layers import MultiHot
from tfxdr.models.base import TfxdrModel

class ClickModel(TfxdrModel):
    """Base of the click-translation models.  Subclasses implement
    ``translate(inputs, source, target)``; ``call`` is the first domain -> the
    second (the export's ``serving_default``)."""

    def build(self, input_shape=None):
        super().build(input_shape)
        self.num_items = [len(self.spec[items_input(d)].vocabulary) for d in self.spec.domains]
        self.multi_hot = [MultiHot(n, name=f"multi_hot_{k}") for k, n in enumerate(self.num_items)]
        for layer in self.multi_hot:
            layer.build()
        cfg = self.config
        self.reads_bags = (isinstance(cfg, ClickInputsConfig)
                           and cfg.reads_bags(sum(self.num_items)))

    def fuses_adam(self) -> bool:
        cfg = self.config
        return isinstance(cfg, AdamUpdateConfig) and cfg.fuses_adam(sum(self.num_items),
                                                                     self.reads_bags)

    @property
    def num_domains(self) -> int:
        return len(self.spec.domains)

    def click_vector(self, indices, domain: int):
        """[B, I_domain] click vector of a preprocessed request."""
        return self.multi_hot[domain](indices[items_input(self.spec.domains[domain])])

    def click_bag(self, indices, domains) -> tuple:
        """The concatenated click vector of ``domains`` (in order) of a preprocessed
        request as a bag, without building it: ``(positions, present)`` [B, T], each
        domain's columns after those of the domains before it in ``domains``."""
        bags, offset = [], 0
        for k in domains:
            positions, present = self.multi_hot[k].bag(indices[items_input(self.spec.domains[k])])
            bags.append((positions + offset, present))
            offset += self.num_items[k]
        if len(bags) == 1:
            return bags[0]
        return (keras.ops.concatenate([p for p, _ in bags], axis=-1),
                keras.ops.concatenate([m for _, m in bags], axis=-1))

    @staticmethod
    def normalized_bag(bag, dropout=None, training=False) -> tuple:
        """``(positions, weights)`` of the L2-normalised click vector of ``bag``
        (1 / sqrt(clicks) at each click), its clicks dropped by ``dropout``."""
        positions, present = bag
        present = keras.ops.cast(present, "float32")
        weights = present / keras.ops.sqrt(
            keras.ops.maximum(keras.ops.sum(present, -1, keepdims=True), 1.0))
        if dropout is not None:
            weights = dropout(weights, training=training)
        return positions, weights

    def click_vectors(self, data) -> list:
        """Every domain's click vector of a training batch: a raw request holding every
        domain (alone, or packed as ``fit`` packs ``x``)."""
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        indices = self.preprocess(inputs)
        return [self.click_vector(indices, k) for k in range(self.num_domains)]

    def translate(self, inputs, source: int, target: int):
        """[B, I_target] scores of the target domain's items from the raw clicks in
        ``inputs[items_input(source)]`` (the other domains' inputs are not read)."""
        raise NotImplementedError

    def call(self, inputs, training=False):
        return self.translate(inputs, 0, 1)
