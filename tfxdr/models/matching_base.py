"""What every multi-domain matching model shares.

A request holds, per domain, a user's most recent raw item ids
(``items_<domain>``, [B, T], oldest first, left-padded); training batches add
each domain's positives (``positives_<domain>``, the clicks that followed; see
:mod:`tfxdr.tasks.matching`).  A model maps a request to one user vector per
target domain, and scores that domain's items by inner product with their
vectors, so retrieval is a nearest-neighbour search over the item table.

Training takes, per target domain with positives, the binary cross-entropy of
the positives against ``num_negatives`` items drawn uniformly from the
domain's catalogue; a drawn item the user clicked in training, before the cut
or after it (``clicked_<domain>``, with the inputs and positives), is left out
rather than taught as a negative.
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.features import NUM_RESERVED, clicked_key, positives_key
from tfxdr.models.sequence_base import SequenceModel
from tfxdr.ops import masked_mean


class MatchingModel(SequenceModel):
    """Base of the matching models.  Subclasses implement ``user_vector``."""

    def build(self, input_shape=None):
        super().build(input_shape)
        self.item_tables = [keras.layers.Embedding(NUM_RESERVED + n, self.config.dim,
                                                   name=f"items_{k}")
                            for k, n in enumerate(self.num_items)]
        for table in self.item_tables:
            table.build((None,))

    def fuses_adam(self) -> bool:
        """Always: an item table's gradient is rows gathered several times over (the
        inputs, the positives, the negatives), which
        :class:`~tfxdr.optimizers.FusedAdam` sums into one dense gradient."""
        return True

    def item_matrix(self, domain: int):
        """[num_items, dim]: the vectors of ``domain``'s known items."""
        return self.item_tables[domain].embeddings[NUM_RESERVED:]

    @staticmethod
    def table_rows(table, positions):
        """[..., dim] the rows of ``table`` (an item table) of the items at ``positions``
        (negative: any).  Gathered from the whole table, not from a slice of it: a
        slice's gradient is dense, one pass over the table per gather, where the
        gathers' row gradients are densified once, by the optimizer."""
        return ops.take(table.embeddings, ops.maximum(positions, 0) + NUM_RESERVED, axis=0)

    def item_rows(self, domain: int, positions):
        """[..., dim] the rows of :meth:`item_matrix` at ``positions`` (negative: any)."""
        return self.table_rows(self.item_tables[domain], positions)

    def item_vectors(self, inputs, domain: int):
        """[B, T, dim] vectors of the last ``max_len`` items of ``domain`` and [B, T] the
        mask of the known ones (padding and ids training never saw are out)."""
        tokens = self.tokens(inputs, domain, self.config.max_len)
        return self.item_tables[domain](tokens), self.item_positions(tokens) >= 0

    def pooled(self, inputs, domain: int):
        """[B, dim]: the average vector of the user's known items of ``domain``
        (zeros where there are none)."""
        vectors, known = self.item_vectors(inputs, domain)
        return masked_mean(vectors, known[..., None], axis=1)

    def pooled_domains(self, inputs) -> list:
        """[B, dim] per domain: :meth:`pooled` of each domain's inputs."""
        return [self.pooled(inputs, k) for k in range(self.num_domains)]

    def user_vector(self, inputs, domain: int, training=False):
        """[B, dim]: the user's representation for target ``domain``."""
        raise NotImplementedError

    def user_vectors(self, inputs, training=False) -> list:
        """:meth:`user_vector` of every target domain, in domain order, as training
        needs them.  A model whose targets share work (the pooled inputs, a shared
        bottom, the experts) does it once here: done once per target, its gathers'
        and products' gradients are computed once per target too."""
        return [self.user_vector(inputs, k, training) for k in range(self.num_domains)]

    def score_next(self, inputs, domain: int):
        return ops.matmul(self.user_vector(inputs, domain), ops.transpose(self.item_matrix(domain)))

    def positives(self, inputs, domain: int):
        """[B, P] positions of the batch's positives of ``domain`` (< 0: none)."""
        raw = inputs[positives_key(self.spec.domains[domain])]
        return self.item_positions(self.preprocessor.lookup(self.inputs_of[domain], raw))

    def clicked(self, inputs, domain: int):
        """[B, C] positions of the items the user clicked in ``domain`` (< 0: none): the
        positives, the inputs and, in a training batch, every other training click."""
        parts = [self.positives(inputs, domain),
                 self.item_positions(self.tokens(inputs, domain, self.config.max_len))]
        key = clicked_key(self.spec.domains[domain])
        if key in inputs:
            parts.append(self.item_positions(self.preprocessor.lookup(self.inputs_of[domain],
                                                                      inputs[key])))
        return ops.concatenate(parts, axis=1)

    @staticmethod
    def unclicked(positions, clicked):
        """[B, m] whether each of the item ``positions`` [B, m] is none of ``clicked``."""
        return ops.logical_not(ops.any(ops.equal(positions[:, :, None], clicked[:, None, :]),
                                       axis=-1))

    def matching_loss(self, inputs, domain: int, user, training=True):
        """Binary cross-entropy of the positives and of sampled unclicked items, each
        averaged over the batch's valid pairs; 0 where the batch has no positive."""
        positives = self.positives(inputs, domain)
        valid = positives >= 0
        negatives = self.sample_items((ops.shape(positives)[0], self.config.num_negatives),
                                      domain)
        unclicked = self.unclicked(negatives, self.clicked(inputs, domain))
        has_positive = ops.any(valid, axis=1, keepdims=True)
        positive_scores = ops.einsum("bd,bpd->bp", user, self.item_rows(domain, positives))
        negative_scores = ops.einsum("bd,bnd->bn", user, self.item_rows(domain, negatives))
        return (masked_mean(ops.softplus(-positive_scores), valid)
                + masked_mean(ops.softplus(negative_scores),
                              ops.logical_and(unclicked, has_positive)))

    def compute_losses(self, data, training=True):
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss = ops.zeros(())
        for k, user in enumerate(self.user_vectors(inputs, training)):
            loss = loss + self.matching_loss(inputs, k, user, training)
        return {"loss": loss / self.num_domains}
