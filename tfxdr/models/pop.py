"""Popularity baseline: rank target-domain items by how many training users clicked them."""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from tfxdr.config import TrainConfig
from tfxdr.models.registry import registered


@dataclasses.dataclass
class PopConfig(TrainConfig):
    """One counting pass over the training users; nothing else to tune."""

    epochs: int = 1
    batch_size: int = 1000


class Popularity(keras.Model):
    """Counts clicks per item of each domain in ``train_step``; scores ignore the user.

    It is a Keras model so that it trains, checkpoints and exports through the
    same path as every other model.

    Args:
        num_items_a: items in domain A.
        num_items_b: items in domain B.
    """

    def __init__(self, num_items_a: int, num_items_b: int, **kwargs):
        super().__init__(**kwargs)
        self.num_items_a = num_items_a
        self.num_items_b = num_items_b
        self.counts_a = self.add_weight(shape=(num_items_a,), initializer="zeros",
                                        trainable=False, name="counts_a")
        self.counts_b = self.add_weight(shape=(num_items_b,), initializer="zeros",
                                        trainable=False, name="counts_b")
        self.clicks_tracker = keras.metrics.Sum(name="clicks")

    @property
    def metrics(self):
        return [self.clicks_tracker]

    def call(self, inputs):
        return self.cross_domain_scores(inputs["x_a"], "a_to_b")

    def train_step(self, data):
        x_a, x_b = data["x_a"], data["x_b"]
        self.counts_a.assign_add(ops.sum(x_a, axis=0))
        self.counts_b.assign_add(ops.sum(x_b, axis=0))
        self.clicks_tracker.update_state(ops.sum(x_a) + ops.sum(x_b))
        return {"loss": ops.zeros(()), "clicks": self.clicks_tracker.result()}

    def cross_domain_scores(self, x_source, direction: str):
        """[B, I_target] scores: the target domain's click counts for every user."""
        counts = self.counts_b if direction == "a_to_b" else self.counts_a
        return ops.broadcast_to(counts[None, :], (ops.shape(x_source)[0], counts.shape[0]))

    def get_config(self):
        return {"num_items_a": self.num_items_a, "num_items_b": self.num_items_b}


@registered("pop", PopConfig, "clicks",
            "popularity in the target domain (baseline)")
def build_pop(config: PopConfig, sizes: dict, seed: int) -> Popularity:
    model = Popularity(sizes["num_items_a"], sizes["num_items_b"])
    model.compile()
    return model
