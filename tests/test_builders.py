"""The tf.data example builders give exactly the hand-computed tensors, and never leak.

Click bags, per-domain sequences and CTR requests are built from small
interaction tables whose expected outputs are written out below, plus one
randomised CTR table whose histories are recomputed by brute force.
"""

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfxdr.data import (
    CtrOptions,
    RawDataset,
    build_ctr_instances,
    click_bag_dataset,
    click_rows,
    ctr_feature_spec,
    length_bucketed_order,
    next_item_examples,
    select_domains,
    sequence_batches,
    training_sequences,
)
from tfxdr.data.domains import Interactions
from tfxdr.data.splits import leave_one_out, split_users
from tfxdr.errors import DataError
from tfxdr.features import Feature, FeatureSpec
from tfxdr.layers import FeaturePreprocessor, MultiHot

DOMAINS = ("A", "B")


def _interactions(rows, columns, users=None, items=None) -> Interactions:
    raw = RawDataset("toy", pd.DataFrame(rows, columns=columns), users, items, {})
    return select_domains(raw, DOMAINS)


def _numpy(value: tf.Tensor) -> np.ndarray:
    """A tensor as NumPy, byte strings decoded."""
    array = value.numpy()
    if array.dtype == object:
        return np.vectorize(lambda b: b.decode(), otypes=[object])(array) if array.size \
            else array.astype(str)
    return array


def _batches(dataset: tf.data.Dataset) -> list[dict[str, np.ndarray]]:
    return [{name: _numpy(value) for name, value in batch.items()} for batch in dataset]


def _concat(batches: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}


# ---------------------------------------------------------------- click bags

def _click_interactions() -> Interactions:
    # u1 clicks a1 twice; u3 and u5 have no A clicks, u4 no B clicks.
    rows = [("u1", "a1", "A"), ("u1", "a3", "A"), ("u1", "a1", "A"), ("u1", "b2", "B"),
            ("u2", "a2", "A"), ("u2", "b1", "B"), ("u2", "b2", "B"),
            ("u3", "b1", "B"),
            ("u4", "a1", "A"), ("u4", "a2", "A"), ("u4", "a3", "A"),
            ("u5", "b2", "B")]
    return _interactions(rows, ["user_id", "item_id", "domain"])


USERS = np.array(["u1", "u2", "u3", "u4", "u5"])
# Rows u1..u5 (user position 0..4); columns a1..a3 and b1..b2.
CLICKS_A = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0]], np.float32)
CLICKS_B = np.array([[0, 1], [1, 1], [1, 0], [0, 0], [0, 1]], np.float32)


def _click_rows(frame: pd.DataFrame, users=USERS) -> dict:
    return {f"items_{d}": click_rows(frame[frame["domain"] == d], users) for d in DOMAINS}


def _click_vectors(bags: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raw bags -> 0/1 click vectors through the models' own preprocessing and MultiHot."""
    spec = FeatureSpec(DOMAINS, (
        Feature("items_A", "multi_valued", vocabulary=("a1", "a2", "a3"), domain="A"),
        Feature("items_B", "multi_valued", vocabulary=("b1", "b2"), domain="B")))
    indices = FeaturePreprocessor(spec)({name: tf.constant(bag.astype(str))
                                         for name, bag in bags.items()})
    return {name: np.asarray(MultiHot(len(spec[name].vocabulary))(indices[name]))
            for name in bags}


def test_click_rows_hold_each_users_distinct_clicks_sorted():
    rows = _click_rows(_click_interactions().frame)
    rows_a, rows_b = rows["items_A"], rows["items_B"]
    assert rows_a.num_rows == rows_b.num_rows == 5
    np.testing.assert_array_equal(rows_a.indptr, [0, 2, 3, 3, 6, 6])
    np.testing.assert_array_equal(rows_a.items, ["a1", "a3", "a2", "a1", "a2", "a3"])
    np.testing.assert_array_equal(rows_a.counts(), [2, 1, 0, 3, 0])
    np.testing.assert_array_equal(rows_b.indptr, [0, 1, 3, 4, 4, 5])
    np.testing.assert_array_equal(rows_b.row(4), ["b2"])
    # A user the frame does not hold gets an empty row; the order is the users'.
    other = click_rows(_click_interactions().frame, np.array(["u9", "u2"]))
    np.testing.assert_array_equal(other.indptr, [0, 0, 3])
    np.testing.assert_array_equal(other.row(1), ["a2", "b1", "b2"])


def test_click_bags_are_the_click_rows_in_the_given_order():
    rows = _click_rows(_click_interactions().frame)
    users = np.array([3, 0, 4, 1])
    dataset = click_bag_dataset(rows, users, batch_size=3, shuffle=False)
    assert dataset.element_spec["items_A"].dtype == tf.string
    batches = _batches(dataset)
    # u4, u1, u5 then u2; bags are padded with "" to the batch's longest.
    np.testing.assert_array_equal(batches[0]["items_A"],
                                  [["a1", "a2", "a3"], ["a1", "a3", ""], ["", "", ""]])
    np.testing.assert_array_equal(batches[0]["items_B"], [[""], ["b2"], ["b2"]])
    np.testing.assert_array_equal(batches[1]["items_A"], [["a2"]])
    np.testing.assert_array_equal(batches[1]["items_B"], [["b1", "b2"]])
    # Through the preprocessing layer they are the click matrix's rows; u1's repeated
    # click on a1 is a 1, not a 2.
    for batch, chosen in zip(batches, (users[:3], users[3:])):
        vectors = _click_vectors(batch)
        np.testing.assert_array_equal(vectors["items_A"], CLICKS_A[chosen])
        np.testing.assert_array_equal(vectors["items_B"], CLICKS_B[chosen])


def _one_hot_clicks(num_users: int) -> Interactions:
    """User i clicks item i in A and item i % 3 in B: the A bag names the user."""
    rows = []
    for user in range(num_users):
        rows.append((f"u{user:02d}", f"a{user:02d}", "A"))
        rows.append((f"u{user:02d}", f"b{user % 3}", "B"))
    return _interactions(rows, ["user_id", "item_id", "domain"])


def _user_order(dataset: tf.data.Dataset) -> list[int]:
    return [int(bag[0].decode()[1:]) for batch in dataset for bag in batch["items_A"].numpy()]


def test_click_bag_shuffle_is_seeded_and_reshuffles_each_epoch():
    interactions = _one_hot_clicks(20)
    rows = _click_rows(interactions.frame, np.array([f"u{u:02d}" for u in range(20)]))
    users = np.arange(20)

    def epochs(seed: int) -> list[list[int]]:
        dataset = click_bag_dataset(rows, users, batch_size=4, seed=seed)
        return [_user_order(dataset), _user_order(dataset)]

    first, again, other = epochs(7), epochs(7), epochs(8)
    assert first == again
    assert first[0] != other[0]
    assert first[0] != first[1]  # a new order each epoch
    for order in first + other:
        assert sorted(order) == list(range(20))  # a permutation: every user exactly once


def test_click_bags_only_hold_the_given_users():
    interactions = _one_hot_clicks(30)
    split = split_users(interactions.frame, (0.6, 0.0, 0.4), seed=3)
    users = np.sort(split["user_id"].unique())
    rows = _click_rows(split, users)
    part = split.drop_duplicates("user_id").set_index("user_id")["split"]
    train = np.flatnonzero(np.isin(users, part.index[part.to_numpy() == "train"]))
    test = np.flatnonzero(np.isin(users, part.index[part.to_numpy() == "test"]))
    assert len(train) == 18 and len(test) == 12
    test_items = {item for u in test for item in rows["items_A"].row(u)}
    seen = []
    for batch in click_bag_dataset(rows, train, batch_size=5, seed=1):
        for bag_a, bag_b in zip(batch["items_A"].numpy(), batch["items_B"].numpy()):
            (item,) = [i.decode() for i in bag_a if i]
            assert item not in test_items
            user = int(item[1:])
            assert [i.decode() for i in bag_b if i] == [f"b{user % 3}"]
            seen.append(user)
    assert sorted(seen) == sorted(int(users[u][1:]) for u in train)


def test_click_bags_of_no_users_are_empty():
    rows = _click_rows(_click_interactions().frame)
    for shuffle in (False, True):
        dataset = click_bag_dataset(rows, np.array([], np.int64), 4, shuffle=shuffle)
        assert _batches(dataset) == []


# ---------------------------------------------------------------- sequences

def _sequence_interactions() -> Interactions:
    # Rows are deliberately out of time order.
    rows = [("u1", "a4", "A", 40), ("u1", "a3", "A", 10), ("u1", "a5", "A", 50),
            ("u1", "a1", "A", 20), ("u1", "a2", "A", 30), ("u1", "b1", "B", 25),
            ("u1", "b2", "B", 15),
            ("u2", "b3", "B", 3), ("u2", "a2", "A", 5), ("u2", "b1", "B", 1), ("u2", "b2", "B", 2),
            ("u3", "b3", "B", 7)]
    return _interactions(rows, ["user_id", "item_id", "domain", "timestamp"])


def test_sequences_are_recent_raw_ids_in_time_order_left_padded():
    frame = _sequence_interactions().frame.assign(split="train")
    users, rows = training_sequences(frame, DOMAINS, 3)
    np.testing.assert_array_equal(users, ["u1", "u2", "u3"])
    # u1's A items by time: a3 a1 a2 a4 a5; the last three are kept.
    np.testing.assert_array_equal(rows["A"], [["a2", "a4", "a5"], ["", "", "a2"], ["", "", ""]])
    np.testing.assert_array_equal(rows["B"], [["", "b2", "b1"], ["b1", "b2", "b3"],
                                              ["", "", "b3"]])
    _, untruncated = training_sequences(frame, DOMAINS, 6)
    np.testing.assert_array_equal(untruncated["A"][0], ["", "a3", "a1", "a2", "a4", "a5"])


def test_held_out_items_and_their_histories_never_overlap():
    split = leave_one_out(_sequence_interactions().frame)
    # u1: A train a3 a1 a2, val a4, test a5; B train b2, test b1.
    # u2: A train a2 (a single event stays in train); B train b1, val b2, test b3.
    users, rows = training_sequences(split, DOMAINS, 4)
    np.testing.assert_array_equal(rows["A"], [["", "a3", "a1", "a2"], ["", "", "", "a2"],
                                              ["", "", "", ""]])
    np.testing.assert_array_equal(rows["B"], [["", "", "", "b2"], ["", "", "", "b1"],
                                              ["", "", "", "b3"]])
    val_a = next_item_examples(split, DOMAINS, "A", "val", 4)
    np.testing.assert_array_equal(val_a.users, ["u1"])
    np.testing.assert_array_equal(val_a.targets, ["a4"])
    np.testing.assert_array_equal(val_a.histories["A"], [["", "a3", "a1", "a2"]])
    np.testing.assert_array_equal(val_a.histories["B"], [["", "", "", "b2"]])
    # A test example sees training and validation items, still not the target.
    test_b = next_item_examples(split, DOMAINS, "B", "test", 4)
    np.testing.assert_array_equal(test_b.users, ["u1", "u2"])
    np.testing.assert_array_equal(test_b.targets, ["b1", "b3"])
    np.testing.assert_array_equal(test_b.histories["B"], [["", "", "", "b2"],
                                                          ["", "", "b1", "b2"]])
    np.testing.assert_array_equal(test_b.histories["A"], [["a3", "a1", "a2", "a4"],
                                                          ["", "", "", "a2"]])
    assert len(next_item_examples(split, DOMAINS, "A", "test", 4)) == 1  # u2 has one A item


def test_leave_one_out_targets_never_appear_in_histories(planted_frame):
    interactions = select_domains(RawDataset("planted", planted_frame, None, None, {}),
                                  ("books", "movies"))
    split = leave_one_out(interactions.frame)
    for domain in interactions.domains:
        for part in ("val", "test"):
            held = next_item_examples(split, interactions.domains, domain, part, 50)
            assert len(held) == 600  # 8 clicks per user and domain
            for user, target, history in zip(held.users, held.targets,
                                              held.histories[domain]):
                assert target not in history  # planted users click distinct items
                rows = split[(split["user_id"] == user) & (split["domain"] == domain)]
                later = rows["timestamp"] >= rows.loc[rows["item_id"] == target,
                                                      "timestamp"].max()
                assert not set(rows.loc[later, "item_id"]) & set(history)


def test_length_bucketed_batches_are_a_seeded_permutation_of_similar_lengths():
    lengths = np.random.default_rng(0).integers(1, 101, size=1030)
    order = length_bucketed_order(lengths, 32, seed=5, window_batches=8)
    np.testing.assert_array_equal(np.sort(order), np.arange(1030))
    np.testing.assert_array_equal(order, length_bucketed_order(lengths, 32, 5, 8))
    assert not np.array_equal(order, length_bucketed_order(lengths, 32, 6, 8))
    batches = [order[i:i + 32] for i in range(0, 1030, 32)]
    assert [len(b) for b in batches] == [32] * 32 + [6]  # the one short batch is last
    spread = np.mean([np.ptp(lengths[b]) for b in batches[:-1]])
    shuffled = np.random.default_rng(1).permutation(1030)
    random_spread = np.mean([np.ptp(lengths[shuffled[i:i + 32]]) for i in range(0, 1024, 32)])
    assert spread < random_spread / 4


def test_sequence_batches_gather_the_rows_in_order():
    columns = {"user_id": np.array(["u0", "u1", "u2"], dtype=object),
               "items_A": np.array([["", "a1"], ["a1", "a2"], ["", ""]], dtype=object)}
    batches = list(sequence_batches(columns, np.array([2, 0, 1]), 2))
    assert [b["user_id"].numpy().tolist() for b in batches] == [[b"u2", b"u0"], [b"u1"]]
    assert batches[0]["items_A"].numpy().tolist() == [[b"", b""], [b"", b"a1"]]


def test_right_padded_columns_are_cut_to_the_batchs_longest_row():
    columns = {"user_id": np.array(["u0", "u1", "u2", "u3"], dtype=object),
               "clicked_A": np.array([["a1", "a2", "a3"], ["a4", "", ""], ["", "", ""],
                                      ["a5", "a6", ""]], dtype=object)}
    batches = list(sequence_batches(columns, np.array([1, 3, 2, 0]), 2,
                                    right_padded=("clicked_A",)))
    assert batches[0]["clicked_A"].numpy().tolist() == [[b"a4", b""], [b"a5", b"a6"]]
    assert batches[1]["clicked_A"].numpy().tolist() == [[b"", b"", b""],
                                                         [b"a1", b"a2", b"a3"]]
    # A batch of rows with no clicks keeps one column of padding.
    alone = next(iter(sequence_batches(columns, np.array([2]), 2, right_padded=("clicked_A",))))
    assert alone["clicked_A"].numpy().tolist() == [[b""]]


# ---------------------------------------------------------------- CTR instances

def _ctr_interactions(label: bool = False) -> Interactions:
    # a3 and b2 share u1's timestamp 4.  Ratings >= 4 are clicks.
    rows = [("u1", "a1", "A", 1, 5.0), ("u1", "b1", "B", 2, 4.0), ("u1", "a2", "A", 3, 2.0),
            ("u1", "b2", "B", 4, 5.0), ("u1", "a3", "A", 4, 5.0), ("u1", "a1", "A", 6, 3.0),
            ("u1", "a2", "A", 7, 4.0), ("u1", "b1", "B", 9, 1.0),
            ("u2", "b2", "B", 1, 5.0), ("u2", "a3", "A", 2, 1.0), ("u2", "a1", "A", 3, 4.0)]
    columns = ["user_id", "item_id", "domain", "timestamp", "rating"]
    users = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "gender": ["F", "", "M"],
                          "zip_code": ["12345", "98052", "12000"]})
    # b2 has no row; z9 is not interacted with; b1 has more genres than slots.
    items = pd.DataFrame({
        "item_id": ["a1", "a2", "a3", "b1", "z9"],
        "title": ["One", "Two", "Three", "Four", "Nine"],
        "movie_title": ["One", "Two", "Three", "Four", "Nine"],
        "year": ["1990", "", "1995", "1990", "2001"],
        "genres": [("Drama",), ("Comedy", "Drama"), (), ("Action", "Comedy", "Drama"),
                   ("Western",)],
    })
    interactions = _interactions(rows, columns, users, items)
    if label:
        frame = interactions.frame
        # Labels that disagree with the ratings: the column wins.
        frame["label"] = (frame["rating"] < 4).astype(np.int8)
    return interactions


# Frame order (user, time, domain, item) and the requests' expected raw values.
CTR_EXPECTED = {
    "user_id":   ["u1"] * 8 + ["u2"] * 3,
    "item_id":   ["a1", "b1", "a2", "a3", "b2", "a1", "a2", "b1", "b2", "a3", "a1"],
    "domain":    ["A", "B", "A", "A", "B", "A", "A", "B", "B", "A", "A"],
    "label":     [1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1],
    # Clicked A items strictly before, most recent last, history_len 2, "" in front.
    "history_A": [["", ""], ["", "a1"], ["", "a1"], ["", "a1"], ["", "a1"], ["a1", "a3"],
                  ["a1", "a3"], ["a3", "a2"], ["", ""], ["", ""], ["", ""]],
    "history_B": [["", ""], ["", ""], ["", "b1"], ["", "b1"], ["", "b1"], ["b1", "b2"],
                  ["b1", "b2"], ["b1", "b2"], ["", ""], ["", "b2"], ["", "b2"]],
}
# The same requests through the preprocessing layer (0 padding or missing, 1 unknown,
# 2.. known in vocabulary order).  Items a1 a2 a3 b1 b2 -> 2..6; users u1 u2 -> 2, 3.
CTR_INDICES = {
    "user_id":  [2] * 8 + [3] * 3,
    "item_id":  [2, 5, 3, 4, 6, 2, 3, 5, 6, 4, 2],
    "domain":   [0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0],
    "history_A": [[0, 0], [0, 2], [0, 2], [0, 2], [0, 2], [2, 4], [2, 4], [4, 3],
                  [0, 0], [0, 0], [0, 0]],
    "history_B": [[0, 0], [0, 0], [0, 5], [0, 5], [0, 5], [5, 6], [5, 6], [5, 6],
                  [0, 0], [0, 6], [0, 6]],
    # gender: F -> 2, "" -> 0 (missing); zip prefix "12" -> 2, "98" -> 3.
    "user_gender":   [2] * 8 + [0] * 3,
    "user_zip_code": [2] * 8 + [3] * 3,
    # year: 1990 -> 2, 1995 -> 3, missing (a2 has none, b2 no row) -> 0.
    "item_year":     [2, 2, 0, 3, 0, 2, 0, 2, 0, 3, 2],
    # genres: Action -> 2, Comedy -> 3, Drama -> 4; two slots, extra genres dropped.
    "item_genres": [[4, 0], [2, 3], [3, 4], [0, 0], [0, 0], [4, 0], [3, 4], [2, 3],
                    [0, 0], [0, 0], [4, 0]],
}
OPTIONS = CtrOptions(history_len=2, max_genres=2)


def _ctr(split_frame, part=None, history_len=2):
    options = CtrOptions(history_len=history_len, max_genres=2)
    return build_ctr_instances(split_frame, DOMAINS, part, options)


def _requests(instances, batch_size=4, **kwargs) -> dict[str, np.ndarray]:
    """Every (raw request, label) of the instances' dataset, concatenated."""
    batches = [{**{name: _numpy(value) for name, value in request.items()},
                "label": label.numpy()}
               for request, label in instances.dataset(batch_size, **kwargs)]
    return _concat(batches)


def test_ctr_requests_have_leak_free_raw_histories():
    frame = _ctr_interactions().frame
    instances = _ctr(frame)
    assert len(instances) == 11
    dataset = instances.dataset(batch_size=4, shuffle=False)
    batches = list(dataset)
    assert [len(label) for _, label in batches] == [4, 4, 3]
    request, label = batches[0]
    assert sorted(request) == ["domain", "history_A", "history_B", "item_id", "user_id"]
    assert label.dtype == tf.float32
    assert all(request[name].dtype == tf.string for name in request)
    assert request["history_A"].shape[1:] == (2,)
    got = _requests(instances, shuffle=False)
    for name, expected in CTR_EXPECTED.items():
        np.testing.assert_array_equal(got[name], np.asarray(expected), err_msg=name)


def test_ctr_feature_spec_is_built_from_training_rows_and_indexes_requests():
    interactions = _ctr_interactions()
    frame = interactions.frame.assign(split="train")
    spec = ctr_feature_spec(interactions, frame, OPTIONS)
    assert spec.names == ["user_id", "item_id", "domain", "history_A", "history_B",
                          "user_gender", "user_zip_code", "item_year", "item_genres"]
    assert spec["item_id"].vocabulary == ("a1", "a2", "a3", "b1", "b2")
    assert spec["item_genres"].vocabulary == ("Action", "Comedy", "Drama")
    assert spec["history_B"].table == "item_id" and spec["history_B"].width == 2
    # Heights: 2 reserved rows + known values; the domain feature is a position.
    assert {f.name: spec.size(f.name) for f in spec.features} == {
        "user_id": 4, "item_id": 7, "domain": 2, "history_A": 7, "history_B": 7,
        "user_gender": 3, "user_zip_code": 4, "item_year": 4, "item_genres": 5}
    indices = _concat([{name: np.asarray(value) for name, value in
                        FeaturePreprocessor(spec)(request).items()}
                       for request, _ in _ctr(frame).dataset(4, shuffle=False)])
    assert sorted(indices) == sorted(CTR_INDICES)
    for name, expected in CTR_INDICES.items():
        np.testing.assert_array_equal(indices[name], np.asarray(expected), err_msg=name)


def test_ctr_feature_spec_sees_only_training_rows():
    interactions = _ctr_interactions()
    split = interactions.frame.assign(split="train")
    split.loc[split["user_id"] == "u2", "split"] = "test"  # u2 and its b2@1 click held out
    spec = ctr_feature_spec(interactions, split, OPTIONS)
    assert spec["user_id"].vocabulary == ("u1",)
    assert spec["user_zip_code"].vocabulary == ("12",)  # u2's "98" is not known
    request = {"user_id": tf.constant(["u2", "u1"]), "item_id": tf.constant(["a1", "z9"])}
    indices = FeaturePreprocessor(spec)(request)
    # A held-out user is unknown (1) but keeps its profile row; z9 has no row at all.
    np.testing.assert_array_equal(indices["user_id"], [1, 2])
    np.testing.assert_array_equal(indices["user_zip_code"], [1, 2])
    np.testing.assert_array_equal(indices["item_id"], [2, 1])
    np.testing.assert_array_equal(indices["item_year"], [2, 0])


def test_ctr_histories_are_truncated_to_the_most_recent():
    frame = _ctr_interactions().frame
    got = _requests(_ctr(frame, history_len=1), shuffle=False)
    np.testing.assert_array_equal(got["history_A"][:, 0],
                                  ["", "a1", "a1", "a1", "a1", "a3", "a3", "a2", "", "", ""])
    got = _requests(_ctr(frame, history_len=4), shuffle=False)
    np.testing.assert_array_equal(got["history_A"][7], ["", "a1", "a3", "a2"])
    np.testing.assert_array_equal(got["history_B"][7], ["", "", "b1", "b2"])


def test_ctr_labels_come_from_the_label_column_when_present():
    got = _requests(_ctr(_ctr_interactions(label=True).frame), shuffle=False)
    np.testing.assert_array_equal(got["label"], 1 - np.asarray(CTR_EXPECTED["label"]))
    # Histories follow the labels: u1's A clicks are now a2@3 and a1@6.
    np.testing.assert_array_equal(got["history_A"][:8], [
        ["", ""], ["", ""], ["", ""], ["", "a2"], ["", "a2"], ["", "a2"], ["a2", "a1"],
        ["a2", "a1"]])


def test_ctr_instances_of_a_part_see_every_earlier_click():
    split = _ctr_interactions().frame.assign(split="train")
    split.loc[[5, 6, 7], "split"] = "test"  # u1 at t=6, 7, 9
    got = _requests(_ctr(split, part="test"), shuffle=False)
    np.testing.assert_array_equal(got["item_id"], ["a1", "a2", "b1"])
    np.testing.assert_array_equal(got["history_A"], CTR_EXPECTED["history_A"][5:8])
    np.testing.assert_array_equal(got["history_B"], CTR_EXPECTED["history_B"][5:8])
    # The a2@7 test click is in the t=9 test instance's history, as it would be when served.
    assert got["history_A"][2, -1] == "a2"


def test_ctr_requests_of_chosen_domains():
    instances = _ctr(_ctr_interactions().frame)
    got = _requests(instances, shuffle=False, domains=("B",))
    np.testing.assert_array_equal(got["item_id"], ["b1", "b2", "b1", "b2"])
    np.testing.assert_array_equal(got["history_A"], np.asarray(CTR_EXPECTED["history_A"])[
        [1, 4, 7, 8]])


def _random_frame(seed: int = 0, users: int = 50, events: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "user_id": [f"u{u}" for u in rng.integers(0, users, events)],
        "domain": rng.choice(DOMAINS, events),
        "timestamp": rng.integers(0, 60, events),  # many ties within a user
        "rating": rng.integers(1, 6, events).astype(float),
    })
    frame["item_id"] = [f"{d.lower()}{i}" for d, i in
                        zip(frame["domain"], rng.integers(0, 40, events))]
    return frame


def _brute_force_histories(frame, threshold, history_len):
    """For each row, each domain's clicked raw ids strictly earlier, built one by one."""
    clicks = {}  # (user, domain) -> [(timestamp, row, item)]
    for row, event in enumerate(frame.itertuples(index=False)):
        if event.rating >= threshold:
            clicks.setdefault((event.user_id, event.domain), []).append(
                (event.timestamp, row, event.item_id))
    out = {f"history_{d}": [] for d in DOMAINS}
    for event in frame.itertuples(index=False):
        for domain in DOMAINS:
            earlier = sorted(c for c in clicks.get((event.user_id, domain), [])
                             if c[0] < event.timestamp)
            items = [item for _, _, item in earlier][-history_len:]
            out[f"history_{domain}"].append([""] * (history_len - len(items)) + items)
    return {name: np.array(values, dtype=object) for name, values in out.items()}


@pytest.mark.parametrize("history_len", [3, 50])
def test_ctr_histories_match_brute_force_on_random_data(history_len):
    frame = _random_frame()
    interactions = _interactions(frame, frame.columns)
    # Rows in an arbitrary order: instances follow the split frame's order.
    split_frame = interactions.frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    options = CtrOptions(history_len=history_len)
    instances = build_ctr_instances(split_frame, DOMAINS, None, options)
    expected = _brute_force_histories(split_frame, options.label_threshold, history_len)
    got = _requests(instances, batch_size=256, shuffle=False)
    assert len(got["label"]) == 2000
    np.testing.assert_array_equal(got["label"], (split_frame["rating"] >= 4).to_numpy())
    np.testing.assert_array_equal(got["user_id"], split_frame["user_id"])
    np.testing.assert_array_equal(got["item_id"], split_frame["item_id"])
    for name in ("history_A", "history_B"):
        np.testing.assert_array_equal(got[name], expected[name])
    assert (expected["history_A"] != "").any(axis=1).mean() > 0.5  # the check is not vacuous

    # Shuffled batches keep each instance with its own histories.
    shuffled = _requests(instances, batch_size=256, seed=3)

    def instance_rows(requests):
        return sorted(zip(requests["user_id"].tolist(), requests["item_id"].tolist(),
                          requests["label"].tolist(), map(tuple, requests["history_A"].tolist()),
                          map(tuple, requests["history_B"].tolist())))

    assert not np.array_equal(shuffled["item_id"], got["item_id"])
    assert instance_rows(shuffled) == instance_rows(got)
    # Only positions are shuffled, in the order a shuffle of the rows themselves gives
    # (runs made before keep their batches).
    rows = tf.data.Dataset.from_tensor_slices(instances.columns["item_id"]).shuffle(
        len(instances), seed=3)
    np.testing.assert_array_equal(shuffled["item_id"].astype(str),
                                  [v.decode() for v in rows.as_numpy_iterator()])


def test_ctr_needs_timestamps_and_labels():
    frame = _ctr_interactions().frame
    with pytest.raises(DataError, match="CTR instances need a 'timestamp' column to build "
                                        "leak-free histories"):
        _ctr(frame.drop(columns="timestamp"))
    with pytest.raises(DataError, match="CTR instances need a 'label' or a 'rating' column; "
                                        "the data has neither"):
        _ctr(frame.drop(columns="rating"))


def test_ctr_instances_of_an_empty_part_are_empty():
    instances = _ctr(_ctr_interactions().frame.assign(split="train"), part="test")
    assert len(instances) == 0
    for shuffle in (False, True):
        assert list(instances.dataset(batch_size=4, shuffle=shuffle)) == []


def _aged_interactions(ages) -> Interactions:
    """Users u0..u5, one A and one B click each except u5 (two of each)."""
    rows = [(f"u{u}", f"{d.lower()}{u}", d, u * 10 + k, 5.0)
            for u in range(6) for k, d in enumerate(DOMAINS)]
    rows += [("u5", "a9", "A", 90, 5.0), ("u5", "b9", "B", 91, 5.0)]
    users = pd.DataFrame({"user_id": [f"u{u}" for u in range(6)], "age": ages,
                          "zip_code": ["10001", "20002", "30003", "40004", "50005", "60006"]})
    return _interactions(rows, ["user_id", "item_id", "domain", "timestamp", "rating"], users)


def test_numeric_columns_with_many_values_are_bucketed_by_training_rows():
    options = CtrOptions(max_categories=3)
    interactions = _aged_interactions(["20", "", "30", "40", "50", "60.5"])
    split = interactions.frame.assign(split="train")
    split.loc[split["user_id"] == "u4", "split"] = "test"
    spec = ctr_feature_spec(interactions, split, options, continuous_buckets=2)
    age = spec["user_age"]
    # Training rows' ages, one per row: 20 20 30 30 40 40 60.5 x4 (u1 missing, u4 held
    # out); their median is 40.
    assert (age.kind, age.boundaries) == ("continuous", (40.0,))
    assert spec.size("user_age") == 3
    assert spec["user_zip_code"].kind == "categorical"  # never continuous
    indices = FeaturePreprocessor(spec)(
        {"user_id": tf.constant(["u0", "u1", "u2", "u3", "u4", "u5", "new"])})
    # 0 missing (u1's age, a user without a profile), else bucket + 1.
    np.testing.assert_array_equal(indices["user_age"], [1, 0, 1, 2, 2, 2, 0])

    # Without buckets, or with few values, or with a value that is not a number on a
    # training user, the column is categorical; held-out users do not decide it.
    assert ctr_feature_spec(interactions, split, options)["user_age"].kind == "categorical"
    held_out_text = ctr_feature_spec(_aged_interactions(["1", "2", "3", "4", "x5", "6"]), split,
                                     options, continuous_buckets=2)
    assert held_out_text["user_age"].kind == "continuous"
    for ages in (["1", "2", "3", "1", "2", "3"], ["1", "2", "3", "x4", "5", "6"]):
        spec = ctr_feature_spec(_aged_interactions(ages), split, options, continuous_buckets=2)
        assert spec["user_age"].kind == "categorical", ages


def test_an_attribute_no_training_user_has_is_left_out():
    """A column whose only values belong to held-out users carries nothing for the
    model (and an empty vocabulary cannot be looked up), so it is not a feature."""
    interactions = _aged_interactions(["20", "30", "40", "50", "60", "70"])
    users = interactions.users.assign(team=["", "", "", "", "red", ""])
    interactions = dataclasses.replace(interactions, users=users)
    split = interactions.frame.assign(split="train")
    split.loc[split["user_id"] == "u4", "split"] = "test"
    spec = ctr_feature_spec(interactions, split, CtrOptions())
    assert "user_team" not in spec.names and "user_age" in spec.names
    assert "user_team" not in spec.tables["user_id"].columns


def test_timestamps_too_wide_to_order_are_an_error():
    rows = [("u1", "a1", "A", 0, 5.0), ("u2", "b1", "B", 2 ** 61, 5.0),
            ("u3", "a1", "A", 1, 5.0), ("u4", "b1", "B", 2, 5.0)]
    interactions = _interactions(rows, ["user_id", "item_id", "domain", "timestamp", "rating"])
    with pytest.raises(DataError, match=re.escape(
            f"column 'timestamp' spans {2 ** 61 + 1} units over 4 users, too many to order "
            "in 64 bits; are the timestamps in seconds?")):
        _ctr(interactions.frame.assign(split="train"))
