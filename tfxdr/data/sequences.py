"""Per-domain behaviour sequences: each user's most recent raw item ids, in time order.

A sequence row holds the last ``length`` raw item ids a user interacted with in
one domain, oldest first, left-padded with "" (the padding of raw ids), so the
newest item is always in the last column.  Rows stay raw ids: the model's
preprocessing layer turns them into indices, in training and in serving alike.

Within a user, rows are ordered by timestamp, ties by item id, so the same
interactions always give the same sequences.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd
import tensorflow as tf

PAD = ""


def time_ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by user, timestamp and item: every builder's order."""
    return frame.sort_values(["user_id", "timestamp", "item_id"], kind="stable")


def recent_rows(frame: pd.DataFrame, users: np.ndarray, length: int) -> np.ndarray:
    """[len(users), length] raw ids: each user's last ``length`` items of ``frame``.

    ``frame`` must be :func:`time_ordered`; a user without rows gets a row of
    padding, and rows of users not in ``users`` are ignored.
    """
    position = pd.Index(users).get_indexer(frame["user_id"].astype(str))
    keep = position >= 0
    position = position[keep]
    items = frame["item_id"].astype(str).to_numpy()[keep]
    counts = np.bincount(position, minlength=len(users))
    ends = np.cumsum(counts)
    # Rows of one user are contiguous in a time-ordered frame: distance from its end.
    from_end = ends[position] - 1 - np.arange(len(position))
    recent = from_end < length
    out = np.full((len(users), length), PAD, dtype=object)
    out[position[recent], length - 1 - from_end[recent]] = items[recent]
    return out


def earliest_rows(frame: pd.DataFrame, users: np.ndarray, length: int) -> np.ndarray:
    """[len(users), length] raw ids: each user's first ``length`` items of ``frame``,
    oldest first, right-padded; ``frame`` must be :func:`time_ordered`."""
    position = pd.Index(users).get_indexer(frame["user_id"].astype(str))
    keep = position >= 0
    position = position[keep]
    items = frame["item_id"].astype(str).to_numpy()[keep]
    counts = np.bincount(position, minlength=len(users))
    from_start = np.arange(len(position)) - (np.cumsum(counts) - counts)[position]
    first = from_start < length
    out = np.full((len(users), length), PAD, dtype=object)
    out[position[first], from_start[first]] = items[first]
    return out


@dataclasses.dataclass
class NextItemExamples:
    """Users of one domain whose next item is held out: the item and their histories.

    ``histories[d]`` is the user's recent raw ids in domain ``d`` before the held
    out item's part (every domain, so a cross-domain model can read the others).
    ``seen[i]`` holds every distinct item of ``domain`` user i had before that part,
    however far back: what the protocols keep out of the ranking.
    """

    domain: str
    users: np.ndarray
    targets: np.ndarray
    histories: dict[str, np.ndarray]
    seen: np.ndarray

    def __len__(self) -> int:
        return len(self.users)

    def rows(self, keep: np.ndarray):
        """The examples of the users ``keep`` selects (a mask or row indices)."""
        return type(self)(self.domain, self.users[keep], self.targets[keep],
                          {d: h[keep] for d, h in self.histories.items()}, self.seen[keep])


def training_sequences(split_frame: pd.DataFrame, domains: Sequence[str],
                       length: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Users with training rows in any of ``domains`` (sorted) and, per domain, their
    last ``length`` training items (a row of padding where a user has none)."""
    train = time_ordered(split_frame[split_frame["split"] == "train"])
    train = train[train["domain"].isin(domains)]
    users = np.sort(train["user_id"].astype(str).unique()).astype(object)
    return users, {d: recent_rows(train[train["domain"] == d], users, length) for d in domains}


def next_item_examples(split_frame: pd.DataFrame, domains: Sequence[str], domain: str,
                       part: str, length: int) -> NextItemExamples:
    """The users holding an item of ``domain`` in ``part`` (``val`` or ``test``), with
    histories of every domain from the parts before it (``train``; ``train`` and
    ``val`` for ``test``): nothing of ``part`` or later is ever in a history."""
    frame = time_ordered(split_frame)
    held = frame[(frame["split"] == part) & (frame["domain"] == domain)]
    held = held.groupby("user_id", sort=True).tail(1)
    users = held["user_id"].astype(str).to_numpy().astype(object)
    histories, seen = histories_before(frame, domains, domain, part, users, length)
    return NextItemExamples(domain, users, held["item_id"].astype(str).to_numpy().astype(object),
                            histories, seen)


def histories_before(frame: pd.DataFrame, domains: Sequence[str], domain: str, part: str,
                     users: np.ndarray, length: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """What ``users`` had before ``part`` (``train``; ``train`` and ``val`` for ``test``):
    their last ``length`` raw ids of every domain, and every distinct item of
    ``domain``, however far back.  ``frame`` must be :func:`time_ordered`."""
    before = {"val": ("train",), "test": ("train", "val")}[part]
    history = frame[frame["split"].isin(before)]
    histories = {d: recent_rows(history[history["domain"] == d], users, length)
                 for d in domains}
    own = history[history["domain"] == domain]
    items_of = own.groupby(own["user_id"].astype(str), sort=False)["item_id"].agg(
        lambda items: np.unique(items.astype(str).to_numpy()))
    seen = np.empty(len(users), dtype=object)
    for row, user in enumerate(users):
        seen[row] = items_of.get(user, np.zeros(0, dtype=str))
    return histories, seen


def length_bucketed_order(lengths: np.ndarray, batch_size: int, seed: int,
                          window_batches: int = 50) -> np.ndarray:
    """A seeded permutation of the rows whose consecutive ``batch_size`` chunks hold
    rows of similar ``lengths``.

    The rows are shuffled, sorted by length within windows of ``window_batches``
    batches, cut into batches, and the batches shuffled; a window's short last
    batch goes to the end, so batching the order gives exactly these batches.
    """
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(lengths))
    window = batch_size * window_batches
    full, partial = [], []
    for start in range(0, len(shuffled), window):
        rows = shuffled[start:start + window]
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        for b in range(0, len(rows), batch_size):
            (full if len(rows) - b >= batch_size else partial).append(rows[b:b + batch_size])
    batches = [full[i] for i in rng.permutation(len(full))] + partial
    return np.concatenate(batches).astype(np.int64) if batches else np.zeros(0, np.int64)


def as_strings(values) -> np.ndarray:
    """Raw ids as an array TensorFlow reads as strings: object arrays of str as they are
    (a fixed-width copy of 6,000 rows of 101 movie titles would take 200 MB)."""
    values = np.asarray(values)
    if values.dtype == object and all(isinstance(v, str) for v in values.ravel()):
        return values
    return values.astype(str)


def sequence_batches(columns: dict[str, np.ndarray], order: np.ndarray,
                     batch_size: int, right_padded: Sequence[str] = ()) -> tf.data.Dataset:
    """Batches of ``{name: rows of columns[name]}`` (raw ids as strings), the rows taken
    in ``order``, ``batch_size`` at a time; the rows are gathered inside the pipeline.
    The ``right_padded`` columns are cut to the batch's longest row (at least one
    column).  They are held without their padding, as ragged rows: a user's row is
    as wide as the most clicks of any user, and gathering the padding of a whole
    batch's rows made the pipeline half as fast."""
    tables = {name: tf.constant(as_strings(values)) for name, values in columns.items()
              if name not in right_padded}
    ragged = {}
    for name in right_padded:
        values = np.asarray(columns[name])
        kept = values != PAD
        ragged[name] = tf.RaggedTensor.from_row_lengths(
            tf.constant(as_strings(values[kept]), tf.string), kept.sum(axis=1))

    def gather(rows):
        batch = {name: tf.gather(table, rows) for name, table in tables.items()}
        for name, values in ragged.items():
            part = tf.gather(values, rows)
            width = tf.maximum(tf.reduce_max(part.row_lengths()), 1)
            batch[name] = part.to_tensor(PAD, shape=tf.stack([tf.shape(rows, tf.int64)[0],
                                                             width]))
        return batch

    return (tf.data.Dataset.from_tensor_slices(np.asarray(order, np.int64)).batch(batch_size)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE))
