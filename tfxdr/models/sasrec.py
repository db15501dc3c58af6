"""SASRec (Kang & McAuley, ICDM 2018): causal self-attention over one domain's sequence.

The single-domain baseline of RecGURU, one independent model per domain: item
and position embeddings, a stack of causal transformer layers, and the output
at position t scoring the next item by its embedding (shared with the input).
Trained as the paper: at every position, binary cross-entropy of the next item
against one uniformly sampled negative.

Reference: Kang, McAuley. Self-Attentive Sequential Recommendation. ICDM 2018.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from tfxdr.losses import sampled_binary_crossentropy
from tfxdr.models.sequence_base import SequenceModel, trim_padding
from tfxdr.ops import masked_mean


@keras.saving.register_keras_serializable(package="tfxdr")
class SASRec(SequenceModel):
    """One SASRec per domain, trained together on the same batches of users."""

    loss_terms = ("loss",)

    def build(self, input_shape=None):
        super().build(input_shape)
        self.embeddings = self.sequence_embeddings(num_extra=0,
                                                   max_length=self.config.max_len + 1)
        self.blocks = [self.transformer_decoders(f"blocks_{k}", cross_attention=False)
                       for k in range(self.num_domains)]
        self.built = True

    def states(self, items, domain: int, training=False):
        """[B, L, d]: the causal stack's output at each position."""
        hidden = self.embeddings[domain](items, training=training, offset=1)
        mask = ops.not_equal(items, 0)
        for layer in self.blocks[domain]:
            hidden = layer(hidden, decoder_padding_mask=mask, training=training)
        return hidden

    def score_next(self, inputs, domain: int):
        items = trim_padding(self.tokens(inputs, domain, self.config.max_len))
        return self.item_scores(self.states(items, domain)[:, -1], self.embeddings[domain])

    def compute_losses(self, data, training=True):
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss = ops.zeros(())
        for k in range(self.num_domains):
            tokens = trim_padding(self.tokens(inputs, k, self.config.max_len + 1), minimum=2)
            states = self.states(tokens[:, :-1], k, training=training)
            targets = self.item_positions(tokens[:, 1:])
            negatives = self.sample_items(tf.shape(targets), k)[..., None]
            positive = self.scores_of(states, self.embeddings[k],
                                      ops.maximum(targets, 0)[..., None])[..., 0]
            negative = self.scores_of(states, self.embeddings[k], negatives)
            cross_entropy = sampled_binary_crossentropy(positive, negative)
            loss = loss + masked_mean(cross_entropy, targets >= 0)
        return {"loss": loss}
