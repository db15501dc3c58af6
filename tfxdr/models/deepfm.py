"""Factorization machine and DeepFM: pairwise field interactions, alone and beside an MLP.

Both read the fields ``lr`` reads (the user's and the item's features, the
candidate's domain, one history per trained domain) and keep its first-order
part unchanged: a bias and one weight per value, bags adding their values'
weights.  The FM adds the inner products of every pair of field vectors,
sum_{i<j} <u_i, u_j>, computed as 0.5 * ((sum_i u_i)^2 - sum_i u_i^2) summed
over the factors, in O(F k) (Rendle 2010, Lemma 3.1).

Each field has one vector u_f: a single value's factor, or for a bag (genres,
a history) the mean of its values' factors, padding left out and zeros for an
empty bag.  The mean is Rendle's normalisation of a set-valued feature (each
of its n values enters with x = 1/n), so a user with fifty clicks does not
weigh fifty times one with a single click in every pair.  Pairs inside one bag
are not terms: a bag is one field.  Histories are looked up in the item-id
table, as in ``din``, so a clicked item and the same item as the candidate
share a vector and <candidate, history> measures their affinity.

DeepFM feeds the same field vectors, concatenated, to an MLP and adds its
output to the FM's logit: one embedding for both parts, no pre-training and no
hand-made cross features (Guo et al. 2017).

References: Rendle. Factorization Machines. ICDM 2010.  Guo et al. DeepFM: A
Factorization-Machine based Neural Network for CTR Prediction. IJCAI 2017.
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers import BiInteractionPooling, FieldEmbedding
from tfxdr.models.lr import LogisticRegression
from tfxdr.ops import masked_mean


@keras.saving.register_keras_serializable(package="tfxdr")
class FMCtr(LogisticRegression):
    """sigmoid(b + sum_f w_f[x_f] + sum_{i<j} <u_i, u_j>); ``call`` returns [B].

    ``l2`` weighs, besides ``lr``'s penalty on the first-order weights, the
    squared field vectors u_f of each training row (Rendle's SGD regularises the
    features an example has, not the whole table; a dense table penalty would
    make Adam move every row at every step).  For a bag that is its mean factor,
    not each value's: a lighter penalty than Rendle's per-value one on long bags.
    """

    def build(self, input_shape=None):
        super().build(input_shape)
        dim = self.config.embedding_dim
        self.embedded_fields = self.fields + self.history_fields
        self.embedding = FieldEmbedding(self.table_sizes(self.fields), dim,
                                        shared=self.history_tables(), bag_pooling="mean",
                                        name="factors")
        self.embedding.build()
        self.pairwise = BiInteractionPooling(field_weights=False, name="pairwise")
        self.pairwise.build((None, len(self.embedded_fields), dim))

    def factors(self, features):
        """[B, F, k]: the vector of every field, in ``embedded_fields`` order."""
        return self.embedding(features, names=self.embedded_fields)

    def fm_logit(self, features, factors):
        """First-order part (``lr``'s) plus the pairwise interactions of ``factors``."""
        linear = super().logits(features)
        return linear + ops.sum(self.pairwise(factors), axis=-1)

    def logits_of(self, features, factors, training=False):
        return self.fm_logit(features, factors)

    def logits(self, features, training=False):
        return self.logits_of(features, self.factors(features), training)

    def compute_losses(self, data, training=True):
        inputs, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        features = self.indices(inputs, training)
        factors = self.factors(features)
        loss = self.click_loss(labels, self.logits_of(features, factors, training),
                               sample_weight)
        if self.config.l2:
            per_row = ops.sum(ops.square(factors), axis=(1, 2))
            weights = ops.ones_like(per_row) if sample_weight is None \
                else ops.cast(sample_weight, per_row.dtype)
            loss = loss + self.config.l2 * masked_mean(per_row, weights)
        return {"loss": loss}


@keras.saving.register_keras_serializable(package="tfxdr")
class DeepFM(FMCtr):
    """sigmoid(FM(x) + MLP([u_1 || ... || u_F])): the FM's field vectors feed the MLP.

    The MLP's output unit has no bias: the FM part holds the model's one bias.
    """

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        width = len(self.embedded_fields) * cfg.embedding_dim
        self.hidden = []
        for i, units in enumerate(cfg.hidden_units):
            dense = keras.layers.Dense(int(units), activation=cfg.activation, name=f"dnn_{i}")
            dense.build((None, width))
            dropout = keras.layers.Dropout(cfg.dropout, seed=self.seed + i, name=f"dropout_{i}")
            self.hidden.append((dense, dropout))
            width = int(units)
        self.dnn_output = keras.layers.Dense(1, use_bias=False, name="dnn_logit")
        self.dnn_output.build((None, width))

    def dnn_logit(self, factors, training=False):
        """The MLP's logit on the concatenated field vectors."""
        x = ops.reshape(factors, (-1, len(self.embedded_fields) * self.config.embedding_dim))
        for dense, dropout in self.hidden:
            x = dropout(dense(x), training=training)
        return ops.squeeze(self.dnn_output(x), -1)

    def logits_of(self, features, factors, training=False):
        return self.fm_logit(features, factors) + self.dnn_logit(factors, training)
