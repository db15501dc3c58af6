"""The feature spec and the layers that read it: raw requests -> indices, by hand."""

import json
import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxdr.errors import DataError, RunDirError
from tfxdr.features import (EntityTable, Feature, FeatureSpec, domain_slug,
                            integer_ids, vocabulary)
from tfxdr.layers import FeaturePreprocessor, FieldEmbedding, MultiHot, UnknownIdDropout


def ctr_spec() -> FeatureSpec:
    """Index spaces (0 padding, 1 unknown, 2.. known in vocabulary order):

    user_id: u1 -> 2, u2 -> 3, u3 -> 4 (u4 has a profile but never trained)
    item_id: "10" -> 2, "3" -> 3, "7" -> 4 (string order), ids sent as int64 too
    user_gender: F -> 2, M -> 3; item_genres: a -> 2, b -> 3, c -> 4
    user_age: buckets of (20, 40): < 20 -> 1, [20, 40) -> 2, >= 40 -> 3, missing -> 0
    price (a request input): buckets of (10, 20)
    """
    features = (
        Feature("user_id", "categorical", vocabulary=("u1", "u2", "u3"), entity="user"),
        Feature("item_id", "categorical", vocabulary=("10", "3", "7"), entity="item",
                dtype="int64"),
        Feature("domain", "domain"),
        Feature("price", "continuous", boundaries=(10.0, 20.0)),
        Feature("history_movies", "history", width=3, table="item_id", domain="movies",
                dtype="int64"),
        Feature("history_tv_shows", "history", width=2, table="item_id", domain="tv shows",
                dtype="int64"),
        Feature("user_gender", "categorical", vocabulary=("F", "M"), entity="user",
                key="user_id"),
        Feature("user_age", "continuous", boundaries=(20.0, 40.0), entity="user",
                key="user_id"),
        Feature("item_genres", "multi_valued", vocabulary=("a", "b", "c"), width=2,
                entity="item", key="item_id"),
    )
    tables = {
        "user_id": EntityTable(("u1", "u2", "u3", "u4"),
                               {"user_gender": ("M", "", "F", "F"),
                                "user_age": (25.0, math.nan, 45.0, 19.0)}),
        "item_id": EntityTable(("3", "7", "10"),
                               {"item_genres": (("c", "a", "b"), (), ("b", "zz"))}),
    }
    return FeatureSpec(("movies", "tv shows"), features, tables)


def _preprocessor(spec=None):
    layer = FeaturePreprocessor(spec or ctr_spec())
    layer.build()
    return layer


def _indices(out, name):
    return np.asarray(out[name]).tolist()


# -- the spec ------------------------------------------------------------------

def test_spec_round_trips_through_json():
    spec = ctr_spec()
    restored = FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert restored.domains == spec.domains
    assert restored.features == spec.features  # tuples restored from JSON lists
    assert restored.tables["item_id"].columns["item_genres"][0] == ("c", "a", "b")
    ages = restored.tables["user_id"].columns["user_age"]
    assert ages[0] == 25.0 and math.isnan(ages[1])  # a missing number travels as null
    assert restored.to_dict() == spec.to_dict()
    # Defaults are left out of the JSON: a plain categorical feature is its name and kind.
    assert Feature("x", "categorical").to_dict() == {"name": "x", "kind": "categorical"}


def test_spec_saves_with_the_run_and_names_a_missing_file(tmp_path):
    spec = ctr_spec()
    spec.save(tmp_path)
    assert FeatureSpec.load(tmp_path).to_dict() == spec.to_dict()
    with pytest.raises(RunDirError, match=r"features.json: missing; the run directory is "
                                          r"incomplete or was written by an older tfxdr"):
        FeatureSpec.load(tmp_path / "other")


def test_spec_sizes_selection_and_histories():
    spec = ctr_spec()
    assert spec.size("user_id") == 3 + 2  # padding, unknown, 3 known
    assert spec.size("history_movies") == spec.size("item_id") == 5  # the item table
    assert spec.size("user_age") == 2 + 2  # missing, 3 buckets -> indices 0..3
    assert spec.size("domain") == 2
    assert [f.name for f in spec.select(entity="user", request=False)] == ["user_gender",
                                                                         "user_age"]
    assert [f.name for f in spec.select(kind="history")] == ["history_movies",
                                                              "history_tv_shows"]
    assert spec.history("tv shows").name == "history_tv_shows"
    with pytest.raises(KeyError, match="no history feature for domain 'books'"):
        spec.history("books")


def test_spec_refuses_duplicate_names_and_domains_with_one_slug():
    assert domain_slug("Children's & Family") == "Children_s___Family"
    with pytest.raises(ValueError, match="feature names must be unique"):
        FeatureSpec(("a", "b"), (Feature("x", "categorical"), Feature("x", "domain")))
    with pytest.raises(DataError, match=r"^domains sci-fi, sci fi: two names give the same "
                                        r"input name \(sci_fi, sci_fi\); rename one$"):
        FeatureSpec(("sci-fi", "sci fi"), ())
    with pytest.raises(ValueError, match="feature 'x': kind 'numeric' is invalid"):
        Feature("x", "numeric")
    with pytest.raises(ValueError, match="^feature 'x': dtype 'int32' is invalid: expected "
                                         "string or int64$"):
        Feature("x", "categorical", dtype="int32")


def test_vocabulary_and_integer_ids():
    assert vocabulary(["b", "a", "", "b", 3]) == ("3", "a", "b")
    assert integer_ids(["7", "10", "0"])
    assert not integer_ids(["7", "07"]) and not integer_ids(["7.0"]) and not integer_ids(["x"])
    # -1 is the int64 padding, so a negative id must travel as a string.
    assert not integer_ids(["7", "-5"])


# -- the preprocessing layer ---------------------------------------------------

def test_categorical_lookup_pads_with_0_and_maps_unknown_values_to_1():
    out = _preprocessor()({"user_id": tf.constant(["u2", "", "u9", "u1", "u3"])})
    assert _indices(out, "user_id") == [3, 0, 1, 2, 4]


def test_int64_ids_with_minus_one_padding_equal_their_string_form():
    pre = _preprocessor()
    as_ints = pre({"item_id": tf.constant([10, -1, 7, 99], tf.int64),
                   "history_movies": tf.constant([[3, -1, 10, 5]], tf.int64)})
    as_text = pre({"item_id": tf.constant(["10", "", "7", "99"]),
                   "history_movies": tf.constant([["3", "", "10", "5"]])})
    # "10" -> 2, padding -> 0, "7" -> 4, unknown 99 -> 1
    assert _indices(as_ints, "item_id") == _indices(as_text, "item_id") == [2, 0, 4, 1]
    # The last 3 non-padding ids: 3, 10, 5 (unknown)
    assert _indices(as_ints, "history_movies") == _indices(as_text, "history_movies") \
        == [[3, 2, 1]]
    assert _indices({"x": pre.lookup("item_id", tf.constant([[7, -1], [3, 10]], tf.int64))},
                    "x") == [[4, 0], [3, 2]]


def test_history_keeps_the_last_width_non_padding_ids_left_padded():
    out = _preprocessor()({
        "history_movies": tf.constant([["3", "", "7", "10", "", "3"],   # 7, 10, 3
                                       ["", "7", "", "", "", ""],      # one id
                                       ["", "", "", "", "", ""]]),     # none
        "history_tv_shows": tf.constant([["10", "7", "3", "", "", ""],
                                         ["", "", "", "", "", "7"],
                                         ["1", "", "", "", "", ""]])})
    assert _indices(out, "history_movies") == [[4, 2, 3], [0, 0, 4], [0, 0, 0]]
    # Width 2: the two most recent; an id training never saw is unknown (1).
    assert _indices(out, "history_tv_shows") == [[4, 3], [0, 4], [0, 1]]


def test_continuous_values_are_bucketed_and_nan_is_missing():
    out = _preprocessor()({"price": tf.constant([5.0, 10.0, 15.0, 20.0, 25.0, math.nan])})
    # Edges (10, 20): x < 10 -> 1, 10 <= x < 20 -> 2, x >= 20 -> 3, NaN -> 0.
    assert _indices(out, "price") == [1, 2, 2, 3, 3, 0]


def test_entity_attributes_for_known_untrained_absent_and_padding_ids():
    out = _preprocessor()({"user_id": tf.constant(["u1", "u2", "u4", "u9", ""]),
                           "item_id": tf.constant(["3", "7", "10", "42", ""])})
    # u1: M, 25; u2: no gender, no age; u4: never trained, still profiled (F, 19);
    # u9: not in the table; padding: nothing.
    assert _indices(out, "user_id") == [2, 3, 1, 1, 0]
    assert _indices(out, "user_gender") == [3, 0, 2, 0, 0]
    assert _indices(out, "user_age") == [2, 0, 1, 0, 0]
    # Genres keep the first 2 values of each item: (c, a), (), (b, unknown value zz).
    assert _indices(out, "item_genres") == [[4, 2], [0, 0], [3, 1], [0, 0], [0, 0]]
    # A request without an item id gets no item attributes.
    assert "item_genres" not in _preprocessor()({"user_id": tf.constant(["u1"])})


def test_domain_names_map_to_their_position_and_an_unknown_name_fails():
    out = _preprocessor()({"domain": tf.constant(["tv shows", "movies", "movies"])})
    assert _indices(out, "domain") == [1, 0, 0]
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(
            "domain: unknown domain name; expected one of movies, tv shows")):
        _preprocessor()({"domain": tf.constant(["tv shows", "movies", "books"])})


def test_preprocessor_rebuilds_from_its_config():
    pre = _preprocessor()
    clone = FeaturePreprocessor.from_config(json.loads(json.dumps(pre.get_config())))
    clone.build()
    request = {"user_id": tf.constant(["u4", "u1"]), "item_id": tf.constant(["10", "x"])}
    for name, values in pre(request).items():
        np.testing.assert_array_equal(np.asarray(values), np.asarray(clone(request)[name]))


# -- layers on indices -----------------------------------------------------------

def test_multi_hot_marks_known_items_once_and_drops_padding_and_unknown():
    layer = MultiHot(3)
    out = np.asarray(layer(tf.constant([[2, 4, 4, 0, 1], [0, 0, 0, 0, 0], [3, 1, 1, 1, 1]])))
    # Index i + 2 is column i.
    np.testing.assert_array_equal(out, [[1, 0, 1], [0, 0, 0], [0, 1, 0]])


def test_unknown_id_dropout_is_identity_unless_training():
    ids = tf.constant([[0, 1, 2, 3, 4]] * 50)
    layer = UnknownIdDropout(0.9, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(ids)), np.asarray(ids))
    np.testing.assert_array_equal(np.asarray(layer(ids, training=False)), np.asarray(ids))


def test_unknown_id_dropout_replaces_a_share_of_known_ids_and_never_padding():
    ids = np.tile(np.array([0, 5, 0, 7, 2, 1, 9, 0], np.int32), (4000, 1))
    out = np.asarray(UnknownIdDropout(0.3, seed=1)(tf.constant(ids), training=True))
    known = ids >= 2
    assert np.all(out[~known] == ids[~known])  # padding stays 0, unknown stays 1
    changed = out[known] != ids[known]
    assert np.all(out[known][changed] == 1)  # a dropped id becomes the unknown index
    # 16000 known ids: the share dropped is 0.3 within 5 standard errors (0.0036 each).
    assert changed.mean() == pytest.approx(0.3, abs=0.018)


def test_unknown_id_dropout_is_deterministic_with_a_seed():
    ids = tf.constant(np.arange(2, 202, dtype=np.int32).reshape(10, 20))

    def draw(seed):
        return np.asarray(UnknownIdDropout(0.5, seed=seed)(ids, training=True))

    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))
    with pytest.raises(ValueError, match=r"UnknownIdDropout rate=1.0 is invalid: expected a "
                                         r"number in \[0, 1\)"):
        UnknownIdDropout(1.0)


@pytest.mark.parametrize("pooling", ["sum", "mean"])
def test_field_embedding_pools_bags_over_their_non_padding_values(pooling):
    layer = FieldEmbedding({"user_id": 3, "item_id": 4}, dim=2, shared={"history": "item_id"},
                           bag_pooling=pooling)
    layer.build()
    layer.embeddings["item_id"].embeddings.assign(
        np.array([[100.0, 100.0], [1.0, 2.0], [3.0, 4.0], [10.0, 20.0]], np.float32))
    layer.embeddings["user_id"].embeddings.assign(
        np.array([[0.0, 0.0], [5.0, 6.0], [7.0, 8.0]], np.float32))
    inputs = {"user_id": tf.constant([2, 1]),
              "history": tf.constant([[0, 2, 3, 0], [0, 0, 0, 0]])}
    # Row 0's bag holds items 2 and 3: sum (13, 24), mean (6.5, 12); row 1's is empty.
    # Row 0 of the table (padding) never counts, whatever its vector.
    expected = [[13.0, 24.0], [0.0, 0.0]] if pooling == "sum" else [[6.5, 12.0], [0.0, 0.0]]
    np.testing.assert_allclose(np.asarray(layer.field(inputs, "history")), expected)
    np.testing.assert_allclose(np.asarray(layer.field(inputs, "user_id")),
                               [[7.0, 8.0], [5.0, 6.0]])
    vectors, mask = layer.sequence(inputs, "history")
    np.testing.assert_allclose(np.asarray(vectors)[0, 1], [3.0, 4.0])
    np.testing.assert_array_equal(np.asarray(mask)[0], [False, True, True, False])
    stacked = np.asarray(layer(inputs, names=["user_id", "history"]))
    assert stacked.shape == (2, 2, 2)
    np.testing.assert_allclose(stacked[0, 1], expected[0])


def test_field_embedding_refuses_an_unknown_pooling():
    with pytest.raises(ValueError, match="bag_pooling='max' is invalid: expected sum or mean"):
        FieldEmbedding({"x": 2}, 2, bag_pooling="max")


def test_keras_knows_the_layers_by_their_package_name():
    for layer in (FeaturePreprocessor, MultiHot, UnknownIdDropout, FieldEmbedding):
        assert keras.saving.get_registered_name(layer) == f"tfxdr>{layer.__name__}"
