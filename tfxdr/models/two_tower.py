"""A two-tower matching baseline over the clicks of every domain.

The user tower reads the average item vector of each domain, concatenated with
the target domain's embedding, through an MLP to one vector per target; the item
tower is the target domain's item table.  The same shape as the matching
models of industry (YouTube DNN, Covington et al., RecSys 2016), with the
domains as its input fields: a strong baseline with no adversarial part.
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.models.matching_base import MatchingModel


@keras.saving.register_keras_serializable(package="tfxdr")
class TwoTower(MatchingModel):
    """Average pooling per domain, the target's embedding, an MLP: the user vector."""

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        self.domain_table = keras.layers.Embedding(self.num_domains, cfg.dim, name="domains")
        self.domain_table.build((None,))
        self.tower = keras.Sequential(
            [keras.layers.Dense(units, activation="relu") for units in cfg.hidden_units]
            + [keras.layers.Dense(cfg.dim)], name="user_tower")
        self.tower.build((None, (self.num_domains + 1) * cfg.dim))
        self.built = True

    def user_vector(self, inputs, domain: int, training=False):
        return self.target_vector(self.pooled_domains(inputs), domain, training)

    def user_vectors(self, inputs, training=False) -> list:
        features = self.pooled_domains(inputs)
        return [self.target_vector(features, k, training) for k in range(self.num_domains)]

    def target_vector(self, features: list, domain: int, training=False):
        """The tower over the pooled ``features`` and ``domain``'s embedding."""
        rows = ops.shape(features[0])[0]
        target = ops.broadcast_to(self.domain_table.embeddings[domain][None, :],
                                  (rows, self.config.dim))
        return self.tower(ops.concatenate([*features, target], axis=-1), training=training)
