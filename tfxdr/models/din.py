"""DIN: the deep interest network, DADIN's single-domain baseline.

The paper's single-domain protocol trains one model on both domains' instances
as one table, so DIN has no notion of domain: the user's clicks in both domains
form one behaviour sequence (source history then target history), pooled by one
candidate-aware attention unit.  [profile || candidate || pooled] goes through
an MLP to the click logit.

Departures from Zhou et al. (config fields where they change the model): ReLU
instead of Dice/PReLU in the MLP, and no mini-batch aware regularisation
(``l2`` on every weight instead).

Reference: Zhou et al. Deep Interest Network for Click-Through Rate Prediction.
KDD 2018.
"""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from tfxdr.config import CtrTrainConfig, require
from tfxdr.layers import AttentionPooling, FieldEmbedding
from tfxdr.layers.field_embedding import history_inputs
from tfxdr.models.registry import registered


@dataclasses.dataclass
class DINConfig(CtrTrainConfig):
    """Hyperparameters; embedding size and training schedule match DADIN's defaults."""

    embedding_dim: int = 64
    hidden_units: tuple[int, ...] = (200, 80)
    l2: float = 0.0

    def validate(self) -> None:
        super().validate()
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "hidden_units", all(int(u) >= 1 for u in self.hidden_units),
                "a list of integers >= 1")
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")


class DIN(keras.Model):
    """sigmoid(MLP([p || q || attention_pool(histories; q)])); ``call`` returns [B]."""

    def __init__(self, field_sizes: dict[str, int], history_fields: tuple[str, ...],
                 config: DINConfig, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.history_fields = tuple(history_fields)
        self.embedding = FieldEmbedding(field_sizes, config.embedding_dim, name="fields")
        self.pooling = AttentionPooling(name="history_attention")
        regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
        self.mlp = [keras.layers.Dense(int(units), activation="relu", name=f"mlp_{i}",
                                       kernel_regularizer=regularizer)
                    for i, units in enumerate(config.hidden_units)]
        self.output_layer = keras.layers.Dense(1, name="logit")

    def build(self, input_shape=None):
        """Sub-layers build on their first call."""
        self.built = True

    def pooled_history(self, inputs, query):
        parts = [self.embedding.history(inputs[name]) for name in self.history_fields]
        history = ops.concatenate([vectors for vectors, _ in parts], axis=1)
        mask = ops.concatenate([mask for _, mask in parts], axis=1)
        return self.pooling(history, query, mask)

    def call(self, inputs, training=False):
        p, q = self.embedding.profile(inputs), self.embedding.candidate(inputs)
        x = ops.concatenate([p, q, self.pooled_history(inputs, q)], axis=-1)
        for layer in self.mlp:
            x = layer(x)
        return ops.sigmoid(ops.squeeze(self.output_layer(x), -1))


@registered("din", DINConfig, "ctr",
            "DIN: deep interest network on both domains' instances as one table (baseline)")
def build_din(config: DINConfig, sizes: dict, seed: int) -> DIN:
    histories = history_inputs(sizes["num_domains"])
    model = DIN(sizes["fields"], histories, config)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.BinaryCrossentropy())
    return model
