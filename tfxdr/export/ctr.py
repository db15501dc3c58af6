"""Serving module of the cross-domain CTR models (DADIN and its baselines).

A request carries raw ids: the user, the candidate item and the domain it is
shown in, and the user's recent clicks in each domain.  The profile fields of
the user and the fields of the item are looked up inside the graph in the
tables of the run, as in training; only the click predictor is traced, so the
domain classifiers and the gradient reversal are not in the serving graph.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfxdr.data.vocab import Vocabularies
from tfxdr.export.common import ServingModule, id_dtype, lookup_table, raw_ids

HISTORY_INPUTS = ("source_history", "target_history")


def _typed(values: np.ndarray) -> np.ndarray:
    """float32 for raw continuous fields, int32 for indices: the training dtypes."""
    return values.astype(np.float32 if values.dtype.kind == "f" else np.int32)


class CtrServing(ServingModule):
    """``serve``: the click probability of each (user, candidate) row.

    Inputs (raw ids; the rank is checked at run time, see tfxdr.export.common):

    - ``user_id`` [B]: int64 when every user id of the data is an integer, else string;
    - ``item_id`` [B]: the candidate, int64 or string likewise (all items of both domains);
    - ``domain`` [B] string: the candidate's domain name;
    - ``source_history``, ``target_history`` [B, T]: the user's clicked items in
      each domain before the request, most recent last, padded with -1 or ""
      anywhere.  Unknown and padding ids are dropped, then the last
      ``history_len`` ids are kept, as in training.

    Output ``ctr`` [B] float32 in [0, 1].  An unknown user or candidate maps to
    index 0, whose embedding row training never updates; an unknown domain name
    fails.
    """

    def __init__(self, model, vocabs: Vocabularies, domains: tuple[str, ...], data):
        super().__init__(model)
        if len(domains) != len(HISTORY_INPUTS):
            raise ValueError("CTR serving needs exactly two domains: SOURCE,TARGET")
        self.domains = tuple(domains)
        self.user_dtype = id_dtype(vocabs.users)
        self.item_dtype = id_dtype(*(vocabs.items[d] for d in domains))
        users = raw_ids(vocabs.users, self.user_dtype)
        self.user_rows = lookup_table(users, tf.range(1, tf.size(users, tf.int64) + 1), default=0)
        # Row 0 is the unknown user: index 0, or NaN for a raw continuous value.
        self.user_values = {name: tf.constant(_typed(np.concatenate(
                                [[np.nan if values.dtype.kind == "f" else 0], values])))
                            for name, values in data.users.values.items()}
        self.item_rows = []
        offset = 0
        for domain in domains:
            keys = raw_ids(vocabs.items[domain], self.item_dtype)
            size = len(vocabs.items[domain])
            self.item_rows.append(lookup_table(keys, tf.range(size) + offset + 1, default=0))
            offset += size
        self.item_values = {name: tf.constant(_typed(values))
                            for name, values in data.items.values.items()}
        self.genres = tf.constant(data.genres.astype(np.int32))
        self.history_len = data.parts["train"].history_len
        self.domain_index = lookup_table(tf.constant(self.domains), tf.range(len(domains)),
                                         default=-1)
        self.serve = tf.function(self._serve, input_signature=[
            tf.TensorSpec(None, self.user_dtype, name="user_id"),
            tf.TensorSpec(None, self.item_dtype, name="item_id"),
            tf.TensorSpec(None, tf.string, name="domain"),
            tf.TensorSpec(None, self.item_dtype, name="source_history"),
            tf.TensorSpec(None, self.item_dtype, name="target_history"),
        ])
        self.keep_variables_of(self.serve)

    def features(self, user_id, item_id, domain, source_history, target_history):
        """The model's input dict for a request (indices, as in training)."""
        user_id = tf.ensure_shape(user_id, [None])
        rows = tf.shape(user_id)[0]
        checked = {}
        for name, value, rank in (("item_id", item_id, 1), ("domain", domain, 1),
                                  ("source_history", source_history, 2),
                                  ("target_history", target_history, 2)):
            value = tf.ensure_shape(value, [None] * rank)
            # Checks run before any lookup uses the value (control dependencies).
            with tf.control_dependencies([tf.debugging.assert_equal(
                    tf.shape(value)[0], rows, message=f"{name}: expected one row per user_id")]):
                checked[name] = tf.identity(value)
        domain_index = self.domain_index.lookup(checked["domain"])
        with tf.control_dependencies([tf.debugging.assert_non_negative(domain_index, message=(
                "domain: unknown domain name; expected one of " + ", ".join(self.domains)))]):
            domain_index = tf.identity(domain_index)
        user_row = self.user_rows.lookup(user_id)
        by_domain = tf.stack([table.lookup(checked["item_id"]) for table in self.item_rows],
                             axis=1)
        item_row = tf.gather(by_domain, domain_index, batch_dims=1)
        features = {name: tf.gather(values, user_row) for name, values in self.user_values.items()}
        features.update({name: tf.gather(values, item_row)
                         for name, values in self.item_values.items()})
        features["genres"] = tf.gather(self.genres, item_row)
        features["domain"] = tf.cast(domain_index, tf.int32)
        for k, (name, table) in enumerate(zip(HISTORY_INPUTS, self.item_rows)):
            features[f"hist_{k}"] = self._recent(table.lookup(checked[name]))
        return features

    def _recent(self, rows):
        """The last ``history_len`` known items of each row, most recent last and
        0-padded in front: the layout of the training histories."""
        newest_first = tf.reverse(rows, axis=[1])
        known = tf.ragged.boolean_mask(newest_first, newest_first > 0)
        kept = known[:, :self.history_len].to_tensor(0, shape=[None, self.history_len])
        return tf.cast(tf.reverse(kept, axis=[1]), tf.int32)

    def _serve(self, user_id, item_id, domain, source_history, target_history):
        features = self.features(user_id, item_id, domain, source_history, target_history)
        return {"ctr": tf.cast(self.model(features, training=False), tf.float32)}
