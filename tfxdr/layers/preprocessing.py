"""The one preprocessing layer: raw requests -> indices, built from a feature spec.

Every model owns one and applies it first in ``call``, so training, offline
evaluation, a reloaded ``.keras`` model and an exported SavedModel all turn raw
ids into indices with the same vocabulary tables: training/serving skew is not
possible by construction.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfxdr.features import FeatureSpec


def raw_strings(values):
    """Raw ids as strings: int64 ids become their decimal text and negative ones
    (the int64 padding, -1) become "", the string padding."""
    values = tf.convert_to_tensor(values)
    if values.dtype == tf.string:
        return values
    values = tf.cast(values, tf.int64)
    return tf.where(values < 0, tf.constant("", tf.string), tf.strings.as_string(values))


def bucketize(values, boundaries):
    """0 for a missing (NaN) value, else 1 + the bucket of ``boundaries`` it falls in."""
    values = ops.cast(values, "float32")
    buckets = ops.digitize(values, list(boundaries)) + 1
    return ops.cast(ops.where(ops.isnan(values), 0, buckets), "int32")


def most_recent(ids, width: int):
    """The last ``width`` non-padding raw ids of each row, left-padded with "":
    padding may sit anywhere in a request and is dropped first."""
    newest_first = tf.reverse(ids, axis=[1])
    present = tf.ragged.boolean_mask(newest_first, tf.not_equal(newest_first, ""))
    kept = present[:, :width].to_tensor("", shape=[None, width])
    return tf.reverse(kept, axis=[1])


@keras.saving.register_keras_serializable(package="tfxdr")
class FeaturePreprocessor(keras.layers.Layer):
    """Maps a raw request to the index of every feature of a :class:`FeatureSpec`.

    Request inputs (features without a ``key``) are raw values: strings, or
    int64 ids padded with -1.  Categorical and multi-valued features are looked
    up in their vocabulary (0 padding, 1 unknown, 2.. known); a history keeps its
    most recent ``width`` non-padding ids, left-padded; a continuous value is
    bucketed; the domain name becomes its position (an unknown name fails).  Features
    with a ``key`` are attributes of the entity that id names (a user's profile,
    an item's year and genres), looked up in the spec's entity tables and
    indexed once, when the layer is built.

    Args:
        spec: the feature spec, or its ``to_dict()``.

    Call args:
        inputs: dict of raw request tensors, one per request feature (a request
            may leave out features it does not need).

    Returns:
        dict of int32 index tensors: each request feature given, and the
        attributes of each entity whose id is given.

    Example:
        >>> pre = FeaturePreprocessor(spec)
        >>> pre({"user_id": tf.constant(["u1"]), "item_id": tf.constant(["m7"]), ...})
    """

    def __init__(self, spec, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.spec = spec if isinstance(spec, FeatureSpec) else FeatureSpec.from_dict(spec)

    def build(self, input_shape=None):
        spec = self.spec
        self.lookups = {}
        for feature in spec.features:
            if feature.kind in ("categorical", "multi_valued"):
                self.lookups[feature.name] = keras.layers.StringLookup(
                    vocabulary=list(feature.vocabulary), mask_token="", num_oov_indices=1,
                    name=f"vocabulary_{feature.name}")
        self.domain_lookup = keras.layers.StringLookup(
            vocabulary=list(spec.domains), num_oov_indices=1, name="vocabulary_domain")
        # Entity rows: 0 padding, 1 an entity missing from the table, 2.. the table's rows.
        self.row_lookups = {key: keras.layers.StringLookup(
            vocabulary=list(table.keys), mask_token="", num_oov_indices=1, name=f"rows_{key}")
            for key, table in spec.tables.items()}
        with tf.init_scope():  # tables are indexed eagerly, even when built inside a trace
            self.attributes = {feature.name: self._attribute_indices(feature)
                               for feature in spec.select(request=False)}
        self.built = True

    def _attribute_indices(self, feature):
        """[2 + entities, ...] indices of a table attribute; the first two rows
        (padding, missing entity) read as missing."""
        column = self.spec.tables[feature.key].columns[feature.name]
        if feature.kind == "continuous":
            raw = np.array([math.nan, math.nan, *column], dtype=np.float32)
            return tf.constant(np.asarray(bucketize(raw, feature.boundaries)), tf.int32)
        if feature.kind == "multi_valued":
            width = feature.width
            raw = np.full((len(column) + 2, width), "", dtype=object)
            for row, values in enumerate(column, start=2):
                kept = list(values)[:width]
                raw[row, :len(kept)] = kept
        else:
            raw = np.array(["", "", *column], dtype=object)
        return tf.constant(np.asarray(self.lookups[feature.name](raw.astype(str))), tf.int32)

    def domain_index(self, names):
        """The position of each domain name; an unknown name fails, naming the domains."""
        index = ops.cast(self.domain_lookup(names), "int32") - 1
        known = tf.debugging.assert_non_negative(index, message=(
            "domain: unknown domain name; expected one of " + ", ".join(self.spec.domains)))
        with tf.control_dependencies([known]):
            return tf.identity(index)

    def lookup(self, name: str, raw):
        """Indices of raw values of one categorical or multi-valued feature, any shape."""
        return ops.cast(self.lookups[name](raw_strings(raw)), "int32")

    def call(self, inputs):
        spec = self.spec
        out = {}
        for feature in spec.select(request=True):
            if feature.name not in inputs:  # e.g. a translation reads one domain's clicks
                continue
            raw = inputs[feature.name]
            if feature.kind == "domain":
                out[feature.name] = self.domain_index(raw)
            elif feature.kind == "continuous":
                out[feature.name] = bucketize(raw, feature.boundaries)
            elif feature.kind == "history":
                recent = most_recent(raw_strings(raw), feature.width)
                out[feature.name] = self.lookup(feature.table, recent)
            else:
                out[feature.name] = self.lookup(feature.name, raw)
        for key in spec.tables:
            if key not in inputs:
                continue
            rows = ops.cast(self.row_lookups[key](raw_strings(inputs[key])), "int32")
            for feature in spec.select(request=False):
                if feature.key == key:
                    out[feature.name] = ops.take(self.attributes[feature.name], rows, axis=0)
        return out

    def get_config(self):
        return {**super().get_config(), "spec": self.spec.to_dict()}
