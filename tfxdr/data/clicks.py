"""Click bags: each user's clicked raw item ids in each domain.

A request of a click-translation model holds, per domain, the raw ids a user
clicked, padded with "".  Clicks are held as one compressed-row structure per
domain; a batch's bags are gathered inside the ``tf.data`` graph, and the
model's preprocessing layer turns them into indices, so memory is
O(interactions + batch x longest bag).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import tensorflow as tf


@dataclasses.dataclass
class ClickRows:
    """Compressed rows: the distinct raw item ids each user clicked, sorted."""

    indptr: np.ndarray
    items: np.ndarray

    @property
    def num_rows(self) -> int:
        return len(self.indptr) - 1

    def row(self, user: int) -> np.ndarray:
        return self.items[self.indptr[user]:self.indptr[user + 1]]

    def counts(self) -> np.ndarray:
        return np.diff(self.indptr)

    @functools.cached_property
    def ragged(self) -> tf.RaggedTensor:
        """The rows as one ragged tensor, made once: every epoch's dataset and every
        evaluation batch gathers from it."""
        return tf.RaggedTensor.from_row_splits(tf.constant(self.items.astype(str)),
                                               tf.constant(self.indptr, tf.int64))


def click_rows(frame: pd.DataFrame, users: np.ndarray) -> ClickRows:
    """Rows of ``frame``'s clicks for ``users`` (sorted raw ids; a user absent from
    ``frame`` has an empty row; repeated clicks count once)."""
    pairs = frame[["user_id", "item_id"]].astype(str).drop_duplicates()
    position = pd.Index(users).get_indexer(pairs["user_id"])
    keep = position >= 0
    order = np.lexsort((pairs["item_id"].to_numpy()[keep], position[keep]))
    items = pairs["item_id"].to_numpy()[keep][order].astype(object)
    counts = np.bincount(position[keep], minlength=len(users))
    return ClickRows(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), items)


def click_bag_dataset(rows: dict[str, ClickRows], user_positions: np.ndarray, batch_size: int,
                      shuffle: bool = True, seed: int = 0) -> tf.data.Dataset:
    """Batches of ``{name: [B, T] raw item ids, "" padded}``, one entry per ``rows`` key.

    Users are shuffled once per epoch with ``seed`` (reshuffled each epoch,
    deterministically); the last batch may be smaller.
    """
    ragged = {name: r.ragged for name, r in rows.items()}

    def gather(users: tf.Tensor) -> dict[str, tf.Tensor]:
        return {name: tf.gather(values, users).to_tensor("") for name, values in ragged.items()}

    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(user_positions, dtype=np.int64))
    if shuffle:
        dataset = dataset.shuffle(max(len(user_positions), 1), seed=seed,
                                  reshuffle_each_iteration=True)
    return dataset.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE,
                                         deterministic=True).prefetch(tf.data.AUTOTUNE)
