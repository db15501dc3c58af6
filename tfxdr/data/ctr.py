"""CTR instances: one per rated event, with leak-free behaviour histories, as raw ids.

Each instance is a request as a served model receives it: the user's id, the
candidate item's id and the domain it is shown in, and for every domain the
user's most recent ``history_len`` clicked items strictly before the event's
timestamp; plus its click label.  The model's preprocessing layer turns the
raw ids into indices, in training exactly as in serving.  Histories are never
materialised per instance: each batch gathers them from one sorted array per
domain inside the ``tf.data`` graph.

:func:`ctr_feature_spec` describes these requests: the vocabularies of user
ids, item ids and attribute values, and the buckets of continuous attributes,
all from the training rows; the users' and items' attributes (profile, year,
genres) travel in the spec's entity tables, so a user that training never saw
still has a profile.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.data.domains import Interactions
from tfxdr.errors import DataError
from tfxdr.features import EntityTable, Feature, FeatureSpec, domain_slug, integer_ids, vocabulary

USER_ID, ITEM_ID, DOMAIN, LABEL = "user_id", "item_id", "domain", "label"
TEXT_COLUMNS = ("title", "movie_title")  # item columns that are not features


@dataclasses.dataclass(frozen=True)
class CtrOptions:
    """How instances and their features are built.

    Args:
        history_len: clicked items kept per history (most recent).
        label_threshold: click label = rating >= this, when the data has
            ratings and no ``label`` column (MovieLens: 4).
        zip_prefix: characters of ``zip_code`` kept as a user attribute.
        max_genres: genre slots per item (extra genres are dropped).
        max_categories: a user or item column whose values are all numbers and
            take more distinct values than this is continuous (``zip_code``
            never is), when the model buckets continuous columns.
    """

    history_len: int = 50
    label_threshold: float = 4.0
    zip_prefix: int = 2
    max_genres: int = 6
    max_categories: int = 50


def history_input(domain: str) -> str:
    """The request key of a domain's click history."""
    return f"history_{domain_slug(domain)}"


def click_labels(frame: pd.DataFrame, threshold: float) -> np.ndarray:
    """The ``label`` column, or ``rating >= threshold``."""
    if LABEL in frame.columns:
        return frame[LABEL].to_numpy(np.float32)
    if "rating" in frame.columns:
        return (frame["rating"].to_numpy() >= threshold).astype(np.float32)
    raise DataError("CTR instances need a 'label' or a 'rating' column; the data has neither")


def _continuous(values: pd.Series, options: CtrOptions) -> bool:
    """Whether a text column holds numbers with more distinct values than categories."""
    present = values != ""
    numbers = pd.to_numeric(values.where(present), errors="coerce")
    return bool(numbers.notna().sum() == present.sum()
                and numbers.nunique() > options.max_categories)


def _attributes(table: pd.DataFrame | None, key: str, keys: np.ndarray, entity: str,
                train_keys: np.ndarray, train_counts: np.ndarray, options: CtrOptions,
                buckets: int) -> tuple[list[Feature], EntityTable | None]:
    """The attribute features of an entity table and its rows for ``keys``.

    Vocabularies, and whether a numeric column is continuous, come from the
    entities of training rows; bucket boundaries from the training rows' values
    (each entity weighs by its rows, ``train_counts``).  A column without a value
    on any training entity is left out.
    """
    if table is None:
        return [], None
    aligned = table.drop_duplicates(key).set_index(key).reindex(keys)
    features, columns = [], {}
    in_train = pd.Index(keys).get_indexer(train_keys)
    for column in aligned.columns:
        if column in TEXT_COLUMNS:
            continue
        name = f"{entity}_{column}"
        if name in (USER_ID, ITEM_ID):
            raise DataError(f"the {entity} table has a column {column!r}, whose feature name "
                            f"{name!r} is taken by the {entity} id; rename the column")
        if column == "genres":
            genres = [g if isinstance(g, tuple) else () for g in aligned[column]]
            vocab = vocabulary(g for row in in_train for g in genres[row])
            if vocab:  # a column no training entity has a value in carries nothing
                columns[name] = tuple(genres)
                features.append(Feature(name, "multi_valued", vocabulary=vocab,
                                        width=options.max_genres, entity=entity, key=key))
            continue
        values = aligned[column].fillna("").astype(str)
        if column == "zip_code":
            values = values.str[: options.zip_prefix]
        vocab = vocabulary(values.to_numpy()[in_train])
        if not vocab:
            continue
        if buckets and column != "zip_code" and _continuous(values.iloc[in_train], options):
            numbers = pd.to_numeric(values.where(values != ""), errors="coerce").to_numpy(float)
            columns[name] = tuple(float(v) for v in numbers)
            boundaries = quantile_boundaries(np.repeat(numbers[in_train], train_counts), buckets)
            features.append(Feature(name, "continuous", boundaries=boundaries, entity=entity,
                                    key=key))
        else:
            columns[name] = tuple(values)
            features.append(Feature(name, "categorical", vocabulary=vocab, entity=entity,
                                    key=key))
    return features, EntityTable(tuple(keys), columns)


def ctr_feature_spec(interactions: Interactions, split_frame: pd.DataFrame,
                     options: CtrOptions = CtrOptions(), continuous_buckets: int = 0) -> FeatureSpec:
    """The features of CTR requests, from the training rows of ``split_frame``.

    Ids seen only in validation or test rows (cold-start users, new items) are
    not in the vocabularies: they map to the unknown index, as at serving time.
    """
    domains = tuple(interactions.domains)
    train = split_frame[split_frame["split"] == "train"]
    users_seen = np.sort(split_frame[USER_ID].unique())
    items_seen = np.sort(split_frame[ITEM_ID].unique())
    user_vocab = vocabulary(train[USER_ID])
    item_vocab = vocabulary(train[ITEM_ID])
    user_dtype = "int64" if integer_ids(users_seen) else "string"
    item_dtype = "int64" if integer_ids(items_seen) else "string"
    features = [
        Feature(USER_ID, "categorical", vocabulary=user_vocab, entity="user", dtype=user_dtype),
        Feature(ITEM_ID, "categorical", vocabulary=item_vocab, entity="item", dtype=item_dtype),
        Feature(DOMAIN, "domain"),
    ]
    features += [Feature(history_input(d), "history", width=options.history_len, table=ITEM_ID,
                         domain=d, dtype=item_dtype) for d in domains]
    tables = {}
    for entity, key, table, seen in (("user", USER_ID, interactions.users, users_seen),
                                     ("item", ITEM_ID, interactions.items, items_seen)):
        counts = train[key].value_counts()
        attributes, entity_table = _attributes(
            table, key, seen, entity, counts.index.to_numpy(), counts.to_numpy(), options,
            continuous_buckets)
        features += attributes
        if entity_table is not None and attributes:
            tables[key] = entity_table
    return FeatureSpec(domains, tuple(features), tables)


@dataclasses.dataclass
class CtrInstances:
    """Raw instance columns plus the sorted click arrays their histories come from.

    ``columns``: ``user_id``, ``item_id``, ``domain`` (raw strings), ``label``,
    and per domain k ``hist_start_k`` / ``hist_end_k``, the range of the
    instance's user's clicks before the instance in ``history_items[k]``.
    """

    columns: dict[str, np.ndarray]
    history_items: list[np.ndarray]
    history_names: list[str]
    history_len: int

    def __len__(self) -> int:
        return len(self.columns[LABEL])

    def rows_of(self, domains: tuple[str, ...] | None) -> np.ndarray:
        """Positions of the instances whose candidate is in ``domains`` (None: all)."""
        if domains is None:
            return np.arange(len(self))
        return np.flatnonzero(np.isin(self.columns[DOMAIN], list(domains)))

    @functools.cached_property
    def _tensors(self) -> tuple[dict[str, tf.Tensor], list[tf.Tensor]]:
        """The columns and the history tables as tensors, made once: every epoch's
        dataset gathers its batches from them."""
        columns = {name: tf.constant(values) for name, values in self.columns.items()}
        tables = [tf.constant(np.concatenate([[""], items]).astype(str))
                  for items in self.history_items]
        return columns, tables

    def dataset(self, batch_size: int, shuffle: bool = True, seed: int = 0,
                domains: tuple[str, ...] | None = None) -> tf.data.Dataset:
        """Batches of (raw request, label); ``history_<domain>`` is [B, history_len]
        raw item ids, most recent last, "" in front when shorter.

        Only the instances' positions are shuffled (a dataset element is a number,
        not a row of strings), and each batch gathers its rows and histories, so
        memory does not grow with the shuffle; the order is the one a shuffle of
        the rows themselves with the same seed gives."""
        n = self.history_len
        columns, tables = self._tensors
        offsets = tf.range(n, dtype=tf.int64) - n

        def gather_batch(rows: tf.Tensor):
            features = {name: tf.gather(values, rows) for name, values in columns.items()}
            label = features.pop(LABEL)
            for k, (name, table) in enumerate(zip(self.history_names, tables)):
                end = features.pop(f"hist_end_{k}")[:, None]
                start = features.pop(f"hist_start_{k}")[:, None]
                position = end + offsets
                # Position p of the sorted array is row p + 1 of `table` (row 0 is padding).
                features[name] = tf.gather(table, tf.where(position >= start, position + 1, 0))
            return features, label

        rows = self.rows_of(domains)
        dataset = tf.data.Dataset.from_tensor_slices(rows.astype(np.int64))
        if shuffle:
            dataset = dataset.shuffle(max(len(rows), 1), seed=seed, reshuffle_each_iteration=True)
        return (dataset.batch(batch_size)
                .map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .prefetch(tf.data.AUTOTUNE))


def build_ctr_instances(split_frame: pd.DataFrame, domains: tuple[str, ...], part: str | None,
                        options: CtrOptions = CtrOptions()) -> CtrInstances:
    """Instances for the rows of ``split_frame`` in ``part`` (all rows if None).

    Histories come from every clicked event of the user in ``split_frame`` with
    a timestamp strictly smaller than the instance's, whatever its part: they
    are the behaviour a served model would see at that moment, and never
    include the instance itself or anything after it.
    """
    if "timestamp" not in split_frame.columns:
        raise DataError("CTR instances need a 'timestamp' column to build leak-free histories")
    frame = split_frame.reset_index(drop=True)
    labels = click_labels(frame, options.label_threshold)
    users, user_index = np.unique(frame[USER_ID].to_numpy().astype(str), return_inverse=True)
    times = frame["timestamp"].to_numpy(np.int64)
    time_shift = times.min() if len(times) else 0
    # One sortable key per (user, time): histories are runs of this order.
    span = int(times.max() - time_shift) + 1 if len(times) else 1
    if len(users) * span >= 2 ** 62:
        raise DataError(f"column 'timestamp' spans {span} units over {len(users)} users, too "
                        "many to order in 64 bits; are the timestamps in seconds?")
    keys = user_index.astype(np.int64) * span + (times - time_shift)
    chosen = np.ones(len(frame), bool) if part is None else (frame["split"] == part).to_numpy()
    items = frame[ITEM_ID].to_numpy().astype(str)
    domain_values = frame[DOMAIN].to_numpy().astype(str)
    columns = {USER_ID: users[user_index[chosen]], ITEM_ID: items[chosen],
               DOMAIN: domain_values[chosen], LABEL: labels[chosen]}
    history_items = []
    instance_keys = keys[chosen]
    user_start = user_index[chosen].astype(np.int64) * span
    for k, domain in enumerate(domains):
        clicked = np.flatnonzero((labels == 1) & (domain_values == domain))
        clicked = clicked[np.argsort(keys[clicked], kind="stable")]
        sorted_keys = keys[clicked]
        history_items.append(items[clicked])
        columns[f"hist_end_{k}"] = np.searchsorted(sorted_keys, instance_keys, side="left")
        columns[f"hist_start_{k}"] = np.searchsorted(sorted_keys, user_start, side="left")
    return CtrInstances(columns, history_items, [history_input(d) for d in domains],
                        options.history_len)


def quantile_boundaries(values: np.ndarray, buckets: int) -> tuple[float, ...]:
    """Edges of ``buckets`` equal-frequency buckets of the finite ``values``."""
    known = values[np.isfinite(values)]
    if not len(known) or buckets < 2:
        return ()
    return tuple(sorted({float(e) for e in np.quantile(known, np.arange(1, buckets) / buckets)}))

