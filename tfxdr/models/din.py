"""DIN: the deep interest network, DADIN's single-domain baseline.

The paper's single-domain protocol trains one model on every domain's
instances as one table, so DIN has no notion of domain: the user's clicks in
the trained domains form one behaviour sequence (their histories in the run's
order), pooled by one candidate-aware attention unit.  [profile || candidate ||
pooled] goes through an MLP to the click logit.

Departures from Zhou et al. (config fields where they change the model): ReLU
instead of Dice/PReLU in the MLP, and no mini-batch aware regularisation
(``l2`` on every MLP kernel instead).

Reference: Zhou et al. Deep Interest Network for Click-Through Rate Prediction.
KDD 2018.
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers import AttentionPooling, FieldEmbedding
from tfxdr.models.ctr_base import CtrModel


@keras.saving.register_keras_serializable(package="tfxdr")
class DIN(CtrModel):
    """sigmoid(MLP([p || q || attention_pool(histories; q)])); ``call`` returns [B]."""

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        d = cfg.embedding_dim
        fields = self.profile_fields + self.candidate_fields
        self.embedding = FieldEmbedding(self.table_sizes(fields), d,
                                        shared=self.history_tables(), name="fields")
        self.embedding.build()
        self.pooling = AttentionPooling(name="history_attention")
        self.pooling.build((None, None, d), (None, d))
        regularizer = keras.regularizers.L2(cfg.l2) if cfg.l2 else None
        self.mlp = [keras.layers.Dense(int(units), activation="relu", name=f"mlp_{i}",
                                       kernel_regularizer=regularizer)
                    for i, units in enumerate(cfg.hidden_units)]
        self.output_layer = keras.layers.Dense(1, name="logit")
        width = 3 * d
        for layer in self.mlp + [self.output_layer]:
            layer.build((None, width))
            width = layer.units

    def pooled_history(self, features, query):
        parts = [self.embedding.sequence(features, name) for name in self.history_fields]
        history = ops.concatenate([vectors for vectors, _ in parts], axis=1)
        mask = ops.concatenate([mask for _, mask in parts], axis=1)
        return self.pooling(history, query, mask)

    def logits(self, features, training=False):
        p = sum(self.embedding.field(features, name) for name in self.profile_fields)
        q = sum(self.embedding.field(features, name)
                for name in self.candidate_fields)
        x = ops.concatenate([p, q, self.pooled_history(features, q)], axis=-1)
        for layer in self.mlp:
            x = layer(x)
        return ops.squeeze(self.output_layer(x), -1)
