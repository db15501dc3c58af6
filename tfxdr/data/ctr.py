"""CTR instances: one per rated event, with leak-free behaviour histories.

Each instance carries the user's profile fields, the candidate item and its
fields, the candidate's domain, the click label, and for every domain the
user's most recent ``history_len`` clicked items strictly before the event's
timestamp.  Histories are never materialised per instance: each batch gathers
them from one sorted array per domain inside the ``tf.data`` graph.

Item ids share one index space across domains (``item`` = domain offset +
index in the domain's vocabulary + 1), so a model can use one embedding table
for candidates and both histories.  Index 0 is padding / unknown everywhere.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.data.domains import Interactions
from tfxdr.data.vocab import Vocabularies, Vocabulary
from tfxdr.errors import DataError


@dataclasses.dataclass
class CtrSpec:
    """How instances are built.

    Args:
        history_len: clicked items kept per history (most recent).
        label_threshold: click label = rating >= this, when the data has
            ratings and no ``label`` column (MovieLens: 4).
        zip_prefix: characters of ``zip_code`` kept as a user field.
        max_genres: genre slots per item (extra genres are dropped).
        max_categories: a user or item column whose values are all numbers and
            take more distinct values than this is continuous (``zip_code``
            never is): besides its categorical field it is given raw, as
            ``n_`` + the field's name (float32, NaN when missing), for models
            that bucket it themselves.
    """

    history_len: int = 50
    label_threshold: float = 4.0
    zip_prefix: int = 2
    max_genres: int = 6
    max_categories: int = 50


@dataclasses.dataclass
class FieldTables:
    """Per-entity fields: ``values[field][entity]``, an index (0 = unknown) for a
    categorical field, the raw value (NaN = unknown) for a continuous ``n_*`` one."""

    values: dict[str, np.ndarray]
    sizes: dict[str, int]


def click_labels(frame: pd.DataFrame, threshold: float) -> np.ndarray:
    """The ``label`` column, or ``rating >= threshold``."""
    if "label" in frame.columns:
        return frame["label"].to_numpy(np.float32)
    if "rating" in frame.columns:
        return (frame["rating"].to_numpy() >= threshold).astype(np.float32)
    raise DataError("CTR instances need a 'label' or a 'rating' column; the data has neither")


def global_item_index(
    frame: pd.DataFrame, domains: Sequence[str], items: dict[str, Vocabulary]
) -> tuple[np.ndarray, np.ndarray]:
    """1-based item index in the shared space, and the domain offsets."""
    offsets = np.cumsum([0] + [len(items[d]) for d in domains])
    out = np.zeros(len(frame), dtype=np.int64)
    domain_values = frame["domain"].to_numpy()
    for k, domain in enumerate(domains):
        rows = domain_values == domain
        out[rows] = items[domain].index(frame.loc[rows, "item_id"]) + offsets[k] + 1
    return out, offsets


def _categorical(values: pd.Series) -> tuple[np.ndarray, int]:
    vocab = Vocabulary.from_values(v for v in values if v != "")
    index = vocab.index(values) + 1
    index[values.to_numpy() == ""] = 0
    return index.astype(np.int32), len(vocab) + 1


def continuous_values(values: pd.Series, spec: CtrSpec) -> np.ndarray | None:
    """The column as float32 (NaN where empty) when it is continuous, else None."""
    present = values != ""
    numbers = pd.to_numeric(values.where(present), errors="coerce")
    if numbers.notna().sum() != present.sum() or numbers.nunique() <= spec.max_categories:
        return None  # some value is not a number, or few enough values to be categories
    return numbers.to_numpy(np.float32)


def continuous_name(field: str) -> str:
    return f"n_{field}"


def user_fields(interactions: Interactions, vocabs: Vocabularies, spec: CtrSpec) -> FieldTables:
    """User id plus every column of the user table, indexed by user index."""
    values = {"user": np.arange(1, len(vocabs.users) + 1, dtype=np.int32)}
    sizes = {"user": len(vocabs.users) + 1}
    table = interactions.users
    if table is not None:
        aligned = table.set_index("user_id").reindex(vocabs.users.ids).fillna("").astype(str)
        for column in aligned.columns:
            column_values = aligned[column]
            if column == "zip_code":
                column_values = column_values.str[: spec.zip_prefix]
            elif (raw := continuous_values(column_values, spec)) is not None:
                values[continuous_name(f"u_{column}")] = raw
            values[f"u_{column}"], sizes[f"u_{column}"] = _categorical(column_values)
    return FieldTables(values, sizes)


def item_fields(
    interactions: Interactions, vocabs: Vocabularies, spec: CtrSpec
) -> tuple[FieldTables, np.ndarray]:
    """Item id, item table columns and a padded genre matrix, by shared item index."""
    domains = interactions.domains
    ids = [i for d in domains for i in vocabs.items[d].ids]
    total = len(ids) + 1
    values = {"item": np.arange(total, dtype=np.int32)}
    sizes = {"item": total}
    genres = np.zeros((total, spec.max_genres), dtype=np.int32)
    table = interactions.items
    if table is not None:
        aligned = table.drop_duplicates("item_id").set_index("item_id").reindex(ids)
        for column in aligned.columns:
            if column in ("genres", "title", "movie_title"):
                continue
            column_values = aligned[column].fillna("").astype(str)
            index, size = _categorical(column_values)
            values[f"i_{column}"] = np.concatenate([[0], index]).astype(np.int32)
            sizes[f"i_{column}"] = size
            if (raw := continuous_values(column_values, spec)) is not None:
                values[continuous_name(f"i_{column}")] = np.concatenate([[np.nan], raw]).astype(
                    np.float32)
        if "genres" in aligned.columns:
            lists = [g if isinstance(g, tuple) else () for g in aligned["genres"]]
            genre_vocab = Vocabulary.from_values(g for gs in lists for g in gs)
            for row, gs in enumerate(lists, start=1):
                kept = gs[: spec.max_genres]
                genres[row, : len(kept)] = genre_vocab.index(kept) + 1
            sizes["genres"] = len(genre_vocab) + 1
    return FieldTables(values, sizes), genres


@dataclasses.dataclass
class CtrInstances:
    """Instance arrays plus the sorted click arrays their histories come from."""

    features: dict[str, np.ndarray]
    history_values: list[np.ndarray]
    field_sizes: dict[str, int]
    history_len: int

    def __len__(self) -> int:
        return len(self.features["label"])

    def dataset(self, batch_size: int, shuffle: bool = True, seed: int = 0) -> tf.data.Dataset:
        """Batches of named features; ``hist_{k}`` is int32 [B, history_len], most recent last."""
        n = self.history_len
        values = [tf.constant(np.concatenate([[0], v]).astype(np.int32)) for v in
                  self.history_values]
        offsets = tf.range(n, dtype=tf.int64) - n

        def gather_histories(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            out = dict(batch)
            for k, table in enumerate(values):
                end = out.pop(f"hist_end_{k}")[:, None]
                start = out.pop(f"hist_start_{k}")[:, None]
                position = end + offsets
                valid = position >= start
                # Position p of the sorted array is row p + 1 of `table` (row 0 is padding).
                out[f"hist_{k}"] = tf.gather(table, tf.where(valid, position + 1, 0))
            return out

        dataset = tf.data.Dataset.from_tensor_slices(self.features)
        if shuffle:
            dataset = dataset.shuffle(max(len(self), 1), seed=seed, reshuffle_each_iteration=True)
        return (dataset.batch(batch_size)
                .map(gather_histories, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .prefetch(tf.data.AUTOTUNE))


def build_ctr_instances(
    interactions: Interactions,
    split_frame: pd.DataFrame,
    vocabs: Vocabularies,
    part: str | None,
    spec: CtrSpec = CtrSpec(),
    tables: tuple[FieldTables, FieldTables, np.ndarray] | None = None,
) -> CtrInstances:
    """Instances for the rows of ``split_frame`` in ``part`` (all rows if None).

    ``tables`` are the user fields, item fields and genre matrix of
    :func:`user_fields` and :func:`item_fields`, built here when not given.

    Histories come from every clicked event of the user in ``split_frame`` with
    a timestamp strictly smaller than the instance's, whatever its part: they
    are the behaviour a served model would see at that moment, and never
    include the instance itself or anything after it.
    """
    if "timestamp" not in split_frame.columns:
        raise DataError("CTR instances need a 'timestamp' column to build leak-free histories")
    domains = interactions.domains
    frame = split_frame.reset_index(drop=True)
    labels = click_labels(frame, spec.label_threshold)
    item_index, _ = global_item_index(frame, domains, vocabs.items)
    user_index = vocabs.users.index(frame["user_id"])
    times = frame["timestamp"].to_numpy(np.int64)
    time_shift = times.min() if len(times) else 0
    # One sortable key per (user, time): histories are runs of this order.
    keys = user_index * (1 << 34) + (times - time_shift)

    chosen = np.ones(len(frame), bool) if part is None else (frame["split"] == part).to_numpy()
    if tables is None:
        tables = (user_fields(interactions, vocabs, spec), *item_fields(interactions, vocabs, spec))
    users_f, items_f, genres = tables
    features: dict[str, np.ndarray] = {}
    for name, table in users_f.values.items():
        features[name] = table[user_index[chosen]]
    for name, table in items_f.values.items():
        features[name] = table[item_index[chosen]]
    features["genres"] = genres[item_index[chosen]]
    domain_of = {d: k for k, d in enumerate(domains)}
    features["domain"] = frame.loc[chosen, "domain"].map(domain_of).to_numpy(np.int32)
    features["label"] = labels[chosen]

    history_values = []
    domain_values = frame["domain"].to_numpy()
    for k, domain in enumerate(domains):
        clicked = np.flatnonzero((labels == 1) & (domain_values == domain))
        clicked = clicked[np.argsort(keys[clicked], kind="stable")]
        sorted_keys = keys[clicked]
        history_values.append(item_index[clicked])
        instance_keys = keys[chosen]
        user_start = user_index[chosen] * (1 << 34)
        features[f"hist_end_{k}"] = np.searchsorted(sorted_keys, instance_keys, side="left")
        features[f"hist_start_{k}"] = np.searchsorted(sorted_keys, user_start, side="left")
    sizes = {**users_f.sizes, **items_f.sizes, "domain": len(domains)}
    sizes.setdefault("genres", 1)
    return CtrInstances(features, history_values, sizes, spec.history_len)
