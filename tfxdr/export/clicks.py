"""Serving module of the click-translation models (D2D-TM and its baselines).

Only the inference path is traced, so dropout, latent noise and discriminators
are not in the serving graph.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfxdr.data.vocab import Vocabulary
from tfxdr.export.common import ServingModule, id_dtype, lookup_table, raw_ids


class ClickTranslationServing(ServingModule):
    """Serving module of a click-translation model: ``a_to_b`` and ``b_to_a``.

    Each signature takes ``item_ids`` [batch, None] (the user's clicked items in
    the source domain, raw ids, padded; any other rank is rejected at run time) and returns ``scores`` [batch, I_target]
    in the order of ``target_item_ids``, and ``top_k_ids`` / ``top_k_scores``.
    Unknown and padding ids are ignored.  A target item whose raw id is in the
    request (an item listed in both domains) is never recommended back.
    """

    def __init__(self, model, vocab_a: Vocabulary, vocab_b: Vocabulary, top_k: int):
        super().__init__(model)
        self.dtype = id_dtype(vocab_a, vocab_b)
        self.ids = {"a": raw_ids(vocab_a, self.dtype), "b": raw_ids(vocab_b, self.dtype)}
        self.tables = {d: lookup_table(keys, tf.range(tf.size(keys, tf.int64)), default=-1)
                       for d, keys in self.ids.items()}
        self.sizes = {"a": len(vocab_a), "b": len(vocab_b)}
        self.top_k = {d: min(top_k, n) for d, n in self.sizes.items()}
        spec = tf.TensorSpec(None, self.dtype, name="item_ids")
        self.a_to_b = tf.function(lambda item_ids: self._translate(item_ids, "a", "b"),
                                  input_signature=[spec])
        self.b_to_a = tf.function(lambda item_ids: self._translate(item_ids, "b", "a"),
                                  input_signature=[spec])
        self.keep_variables_of(self.a_to_b, self.b_to_a)

    def _multi_hot(self, item_ids, domain: str) -> tuple[tf.Tensor, tf.Tensor]:
        index = self.tables[domain].lookup(item_ids)
        known = tf.where(index >= 0)
        coordinates = tf.stack([known[:, 0], tf.gather_nd(index, known)], axis=1)
        shape = tf.stack([tf.shape(item_ids, out_type=tf.int64)[0],
                          tf.constant(self.sizes[domain], tf.int64)])
        dense = tf.scatter_nd(coordinates, tf.ones(tf.shape(known)[:1]), shape)
        return tf.minimum(dense, 1.0), shape

    def _translate(self, item_ids, source: str, target: str) -> dict[str, tf.Tensor]:
        # The rank is open in the spec and checked here (see tfxdr.export.common).
        item_ids = tf.ensure_shape(item_ids, [None, None])
        x_source, _ = self._multi_hot(item_ids, source)
        direction = f"{source}_to_{target}"
        scores = tf.cast(self.model.cross_domain_scores(x_source, direction), tf.float32)
        in_request, _ = self._multi_hot(item_ids, target)
        scores = tf.where(in_request > 0, tf.constant(-np.inf, tf.float32), scores)
        top = tf.math.top_k(scores, k=self.top_k[target])
        return {
            "scores": scores,
            "top_k_ids": tf.gather(self.ids[target], top.indices),
            "top_k_scores": top.values,
        }
