"""BPR-MF (Rendle et al., UAI 2009): matrix factorisation ranked by pairwise preference.

One user vector shared by the domains and one item table per domain; a user's
training items each face one uniformly sampled item, and the loss is
-log sigmoid(u . i - u . j).  The order of the items plays no part: it is the
paper's non-sequential baseline.

Reference: Rendle, Freudenthaler, Gantner, Schmidt-Thieme. BPR: Bayesian
Personalized Ranking from Implicit Feedback. UAI 2009.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from tfxdr.features import NUM_RESERVED
from tfxdr.models.sequence_base import SequenceModel
from tfxdr.ops import masked_mean


@keras.saving.register_keras_serializable(package="tfxdr")
class BPRMF(SequenceModel):
    """Users and items of every domain in one latent space of ``dim`` dimensions."""

    loss_terms = ("loss",)

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        regularizer = keras.regularizers.L2(cfg.l2) if cfg.l2 else None
        self.users = keras.layers.Embedding(
            NUM_RESERVED + len(self.spec["user_id"].vocabulary), cfg.dim,
            embeddings_regularizer=regularizer, name="users")
        self.users.build((None,))
        self.items = [keras.layers.Embedding(n, cfg.dim, embeddings_regularizer=regularizer,
                                             name=f"items_{k}")
                      for k, n in enumerate(self.num_items)]
        for table in self.items:
            table.build((None,))
        self.built = True

    def user_vectors(self, inputs):
        return self.users(self.preprocessor.lookup("user_id", inputs["user_id"]))

    def score_next(self, inputs, domain: int):
        return ops.matmul(self.user_vectors(inputs), ops.transpose(self.items[domain].embeddings))

    def compute_losses(self, data, training=True):
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        users = self.user_vectors(inputs)[:, None, :]
        loss = ops.zeros(())
        for k in range(self.num_domains):
            positives = self.item_positions(self.tokens(inputs, k, self.config.max_len + 1))
            negatives = self.sample_items(tf.shape(positives), k)
            positive = ops.sum(users * self.items[k](ops.maximum(positives, 0)), axis=-1)
            negative = ops.sum(users * self.items[k](negatives), axis=-1)
            loss = loss + masked_mean(-ops.log_sigmoid(positive - negative), positives >= 0)
        return {"loss": loss}
