"""Per-domain behaviour sequences for sequential models (RecGURU, AFT, SASRec).

Token ids: 0 = [pad], 1 = [mask], 2 = [eos]; item ``i`` of a domain's
vocabulary is token ``i + NUM_SPECIAL_TOKENS``.  Sequences hold the most
recent ``max_len`` items in time order, left-padded, optionally followed by
[eos] (the position whose encoder output is the user representation).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.data.vocab import Vocabulary

PAD_ID = 0
MASK_ID = 1
EOS_ID = 2
NUM_SPECIAL_TOKENS = 3


@dataclasses.dataclass
class SequenceExamples:
    """Arrays of one example per user; keys ``items_{k}``/``length_{k}`` per domain k."""

    features: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.features["user"])

    def dataset(self, batch_size: int, shuffle: bool = True, seed: int = 0) -> tf.data.Dataset:
        dataset = tf.data.Dataset.from_tensor_slices(self.features)
        if shuffle:
            dataset = dataset.shuffle(max(len(self), 1), seed=seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def recent_items_matrix(
    user_index: np.ndarray, tokens: np.ndarray, num_users: int, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Left-padded [num_users, max_len] matrix of each user's last ``max_len`` tokens.

    ``user_index`` and ``tokens`` must already be in time order within each user.
    Returns the matrix (int32) and the kept lengths (int32).
    """
    order = np.argsort(user_index, kind="stable")
    users, tokens = user_index[order], tokens[order]
    counts = np.bincount(users, minlength=num_users)
    ends = np.cumsum(counts)
    from_end = ends[users] - 1 - np.arange(len(users))
    keep = from_end < max_len
    matrix = np.full((num_users, max_len), PAD_ID, dtype=np.int32)
    matrix[users[keep], max_len - 1 - from_end[keep]] = tokens[keep]
    return matrix, np.minimum(counts, max_len).astype(np.int32)


def build_sequences(
    split_frame: pd.DataFrame,
    domains: Sequence[str],
    users: Vocabulary,
    items: dict[str, Vocabulary],
    max_len: int,
    history_splits: Sequence[str] = ("train",),
    target_split: str | None = None,
    add_eos: bool = False,
) -> SequenceExamples:
    """One example per user that has a history or target in any domain.

    Args:
        split_frame: interactions with ``timestamp`` and ``split`` columns.
        history_splits: which parts may appear in the input sequences (for a
            test example, ``("train", "val")``): nothing from ``target_split``.
        target_split: when set, each domain's ``target_{k}`` is the user's item
            in that part (PAD_ID where the user has none).
        add_eos: append [eos] after the items (sequence length max_len + 1).
    """
    frame = split_frame.sort_values(["user_id", "timestamp", "item_id"], kind="stable")
    history = frame[frame["split"].isin(history_splits)]
    features: dict[str, np.ndarray] = {}
    present = np.zeros(len(users), dtype=bool)
    for k, domain in enumerate(domains):
        part = history[history["domain"] == domain]
        user_index = users.index(part["user_id"])
        tokens = items[domain].index(part["item_id"]) + NUM_SPECIAL_TOKENS
        matrix, lengths = recent_items_matrix(user_index, tokens, len(users), max_len)
        if add_eos:
            matrix = np.concatenate([matrix, np.full((len(users), 1), EOS_ID, np.int32)], axis=1)
        features[f"items_{k}"], features[f"length_{k}"] = matrix, lengths
        present |= lengths > 0
        if target_split is not None:
            target_rows = frame[(frame["split"] == target_split) & (frame["domain"] == domain)]
            last = target_rows.groupby("user_id", sort=False).tail(1)
            target = np.full(len(users), PAD_ID, dtype=np.int32)
            target[users.index(last["user_id"])] = (
                items[domain].index(last["item_id"]) + NUM_SPECIAL_TOKENS
            )
            features[f"target_{k}"] = target
            present |= target != PAD_ID
    keep = np.flatnonzero(present)
    out = {name: values[keep] for name, values in features.items()}
    out["user"] = keep.astype(np.int64)
    return SequenceExamples(out)
