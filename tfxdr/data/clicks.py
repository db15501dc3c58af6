"""Click-vector pairs: each user's binarised clicks in domains A and B.

Clicks are held as one sparse row structure per domain; dense vectors exist
only per batch, built inside the ``tf.data`` graph by a scatter, so memory is
O(interactions + batch x items), never users x items.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.data.vocab import Vocabulary


@dataclasses.dataclass
class SparseRows:
    """Compressed sparse rows: the item indices of each user, sorted."""

    indptr: np.ndarray
    indices: np.ndarray
    num_items: int

    @property
    def num_rows(self) -> int:
        return len(self.indptr) - 1

    def row(self, user: int) -> np.ndarray:
        return self.indices[self.indptr[user]:self.indptr[user + 1]]

    def rows(self, users: np.ndarray) -> list[np.ndarray]:
        return [self.row(int(u)) for u in users]

    def counts(self) -> np.ndarray:
        return np.diff(self.indptr)

    def dense(self, users: np.ndarray) -> np.ndarray:
        """float32 [len(users), num_items] click vectors for a batch of users."""
        out = np.zeros((len(users), self.num_items), dtype=np.float32)
        for position, user in enumerate(users):
            out[position, self.row(int(user))] = 1.0
        return out

    def item_counts(self, users: np.ndarray | None = None) -> np.ndarray:
        """How many of ``users`` (default all) clicked each item."""
        if users is None:
            selected = self.indices
        else:
            selected = np.concatenate([self.row(int(u)) for u in users] or [np.empty(0, np.int64)])
        return np.bincount(selected, minlength=self.num_items).astype(np.float64)


def sparse_rows(frame: pd.DataFrame, users: Vocabulary, items: Vocabulary) -> SparseRows:
    """Binarised user x item rows of ``frame`` (duplicate clicks count once)."""
    user_index = users.index(frame["user_id"])
    item_index = items.index(frame["item_id"])
    valid = (user_index >= 0) & (item_index >= 0)
    pairs = np.unique(np.stack([user_index[valid], item_index[valid]], axis=1), axis=0)
    if pairs.size == 0:
        pairs = np.empty((0, 2), dtype=np.int64)
    counts = np.bincount(pairs[:, 0], minlength=len(users))
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return SparseRows(indptr, pairs[:, 1].astype(np.int64), len(items))


def _ragged(rows: SparseRows) -> tf.RaggedTensor:
    return tf.RaggedTensor.from_row_splits(
        tf.constant(rows.indices, tf.int64), tf.constant(rows.indptr, tf.int64)
    )


def click_pair_dataset(
    rows_a: SparseRows,
    rows_b: SparseRows,
    user_indices: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of ``{"x_a": float32[B, I_A], "x_b": float32[B, I_B]}`` click vectors.

    Users are shuffled once per epoch with ``seed`` (reshuffled each epoch,
    deterministically); the last batch may be smaller.
    """
    ragged_a, ragged_b = _ragged(rows_a), _ragged(rows_b)

    def to_dense(ragged: tf.RaggedTensor, users: tf.Tensor, width: int) -> tf.Tensor:
        picked = tf.gather(ragged, users)
        coordinates = tf.stack([picked.value_rowids(), picked.values], axis=1)
        ones = tf.ones_like(picked.values, dtype=tf.float32)
        shape = tf.stack([tf.shape(users, out_type=tf.int64)[0], tf.constant(width, tf.int64)])
        return tf.scatter_nd(coordinates, ones, shape)

    def build(users: tf.Tensor) -> dict[str, tf.Tensor]:
        return {
            "x_a": to_dense(ragged_a, users, rows_a.num_items),
            "x_b": to_dense(ragged_b, users, rows_b.num_items),
        }

    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(user_indices, dtype=np.int64))
    if shuffle:
        dataset = dataset.shuffle(max(len(user_indices), 1), seed=seed,
                                  reshuffle_each_iteration=True)
    return dataset.batch(batch_size).map(build, num_parallel_calls=tf.data.AUTOTUNE,
                                         deterministic=True).prefetch(tf.data.AUTOTUNE)
