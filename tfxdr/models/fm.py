"""A factorization machine over the clicks of every domain, for matching.

Each clicked item is a feature of the user with weight 1/(its domain's click
count), and the candidate item one more: the second-order terms between the
candidate and the user's clicks sum to <v_i, sum over domains of the average
clicked vector>, and the first-order term is the item's bias w_i.  The terms
among the user's own features are the same for every candidate and drop out
of a ranking.  Scored as one inner product, user [u; 1] . item [v_i; w_i], so
retrieval stays a nearest-neighbour search.  One latent space for every item,
clicked or candidate (Rendle, ICDM 2010).
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.features import NUM_RESERVED
from tfxdr.models.matching_base import MatchingModel


@keras.saving.register_keras_serializable(package="tfxdr")
class FM(MatchingModel):
    """Item vectors and biases per domain; the user is the sum of its domains' averages."""

    def build(self, input_shape=None):
        super().build(input_shape)
        self.item_biases = [keras.layers.Embedding(NUM_RESERVED + n, 1, embeddings_initializer=
                                                   "zeros", name=f"item_bias_{k}")
                            for k, n in enumerate(self.num_items)]
        for table in self.item_biases:
            table.build((None,))
        self.built = True

    def item_matrix(self, domain: int):
        """[num_items, dim + 1]: each item's vector and its bias."""
        return ops.concatenate([super().item_matrix(domain),
                                self.item_biases[domain].embeddings[NUM_RESERVED:]], axis=-1)

    def item_rows(self, domain: int, positions):
        return ops.concatenate([super().item_rows(domain, positions),
                                self.table_rows(self.item_biases[domain], positions)], axis=-1)

    def user_vector(self, inputs, domain: int, training=False):
        user = sum(self.pooled_domains(inputs))
        return ops.concatenate([user, ops.ones_like(user[:, :1])], axis=-1)

    def user_vectors(self, inputs, training=False) -> list:
        """The same vector for every target domain."""
        return [self.user_vector(inputs, 0, training)] * self.num_domains
