"""BERT4Rec (Sun et al., CIKM 2019): a bidirectional transformer trained to fill in items.

One model per domain.  Training masks a share of each sequence's items with
[mask] (and always the last, as at inference) and predicts them from both
sides with a softmax over the domain's items; the next item is predicted at a
[mask] appended after the user's history.

Reference: Sun, Liu, Wu, Pei, Lin, Ou, Jiang. BERT4Rec: Sequential Recommendation
with Bidirectional Encoder Representations from Transformer. CIKM 2019.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from tfxdr.models.sequence_base import SequenceModel, trim_padding
from tfxdr.ops import masked_mean

MASK = 0  # the special token after each domain's items


@keras.saving.register_keras_serializable(package="tfxdr")
class BERT4Rec(SequenceModel):
    """One BERT4Rec per domain, trained together on the same batches of users."""

    loss_terms = ("loss",)

    def build(self, input_shape=None):
        super().build(input_shape)
        self.embeddings = self.sequence_embeddings(num_extra=1,
                                                   max_length=self.config.max_len + 1)
        self.blocks = [self.transformer_encoders(f"blocks_{k}") for k in range(self.num_domains)]
        self.built = True

    def states(self, tokens, domain: int, training=False):
        """[B, L, d]: the bidirectional stack's output at each position."""
        hidden = self.embeddings[domain](tokens, training=training)
        mask = ops.not_equal(tokens, 0)
        for layer in self.blocks[domain]:
            hidden = layer(hidden, padding_mask=mask, training=training)
        return hidden

    def score_next(self, inputs, domain: int):
        items = trim_padding(self.tokens(inputs, domain, self.config.max_len))
        embedding = self.embeddings[domain]
        masked = ops.full((ops.shape(items)[0], 1), embedding.special(MASK), dtype=items.dtype)
        states = self.states(ops.concatenate([items, masked], axis=1), domain)
        return self.item_scores(states[:, -1], embedding)

    def compute_losses(self, data, training=True):
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        cfg = self.config
        loss = ops.zeros(())
        for k in range(self.num_domains):
            tokens = trim_padding(self.tokens(inputs, k, cfg.max_len + 1))
            targets = self.item_positions(tokens)
            present = targets >= 0
            drawn = keras.random.uniform(tf.shape(tokens), seed=self.sampler) < cfg.mask_prob
            last = ops.arange(ops.shape(tokens)[1]) == ops.shape(tokens)[1] - 1
            hidden = ops.logical_and(present, ops.logical_or(drawn, last[None, :]))
            special = self.embeddings[k].special(MASK)
            states = self.states(ops.where(hidden, special, tokens), k, training=training)
            cross_entropy = keras.losses.sparse_categorical_crossentropy(
                ops.maximum(targets, 0), self.item_scores(states, self.embeddings[k]),
                from_logits=True)
            loss = loss + masked_mean(cross_entropy, hidden)
        return {"loss": loss}
