"""The tf.data example builders give exactly the hand-computed tensors, and never leak.

Click pairs, per-domain sequences and CTR instances are built from small
interaction tables whose expected outputs are written out below, plus one
randomised CTR table whose histories are recomputed by brute force.
"""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfxdr.data import (
    RawDataset,
    Vocabularies,
    build_ctr_instances,
    build_sequences,
    click_pair_dataset,
    select_domains,
    sparse_rows,
)
from tfxdr.data.ctr import CtrSpec
from tfxdr.data.domains import Interactions
from tfxdr.data.sequences import EOS_ID, MASK_ID, NUM_SPECIAL_TOKENS, PAD_ID
from tfxdr.data.splits import leave_one_out, split_users
from tfxdr.errors import DataError

DOMAINS = ("A", "B")


def _interactions(rows, columns, users=None, items=None) -> Interactions:
    raw = RawDataset("toy", pd.DataFrame(rows, columns=columns), users, items, {})
    return select_domains(raw, DOMAINS)


def _batches(dataset: tf.data.Dataset) -> list[dict[str, np.ndarray]]:
    return [{name: value.numpy() for name, value in batch.items()} for batch in dataset]


def _concat(batches: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}


# ---------------------------------------------------------------- click pairs

def _click_interactions() -> Interactions:
    # u1 clicks a1 twice; u3 and u5 have no A clicks, u4 no B clicks.
    rows = [("u1", "a1", "A"), ("u1", "a3", "A"), ("u1", "a1", "A"), ("u1", "b2", "B"),
            ("u2", "a2", "A"), ("u2", "b1", "B"), ("u2", "b2", "B"),
            ("u3", "b1", "B"),
            ("u4", "a1", "A"), ("u4", "a2", "A"), ("u4", "a3", "A"),
            ("u5", "b2", "B")]
    return _interactions(rows, ["user_id", "item_id", "domain"])


# Rows u1..u5 (user index 0..4); columns a1..a3 and b1..b2.
CLICKS_A = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0]], np.float32)
CLICKS_B = np.array([[0, 1], [1, 1], [1, 0], [0, 0], [0, 1]], np.float32)


def _click_rows(interactions: Interactions, frame: pd.DataFrame | None = None):
    frame = interactions.frame if frame is None else frame
    vocabs = Vocabularies.build(frame, interactions.domains)
    rows = tuple(sparse_rows(frame[frame["domain"] == d], vocabs.users, vocabs.items[d])
                 for d in interactions.domains)
    return vocabs, rows


def test_sparse_rows_hold_each_users_distinct_clicks_sorted():
    vocabs, (rows_a, rows_b) = _click_rows(_click_interactions())
    assert vocabs.users.ids == ["u1", "u2", "u3", "u4", "u5"]
    assert (rows_a.num_rows, rows_a.num_items, rows_b.num_items) == (5, 3, 2)
    np.testing.assert_array_equal(rows_a.indptr, [0, 2, 3, 3, 6, 6])
    np.testing.assert_array_equal(rows_a.indices, [0, 2, 1, 0, 1, 2])
    np.testing.assert_array_equal(rows_a.counts(), [2, 1, 0, 3, 0])
    np.testing.assert_array_equal(rows_b.row(4), [1])
    users = np.arange(5)
    np.testing.assert_array_equal(rows_a.dense(users), CLICKS_A)
    np.testing.assert_array_equal(rows_b.dense(users), CLICKS_B)
    np.testing.assert_array_equal(rows_a.item_counts(), [2, 2, 2])
    np.testing.assert_array_equal(rows_a.item_counts(np.array([0, 1])), [1, 1, 1])


def test_click_pairs_are_the_click_matrix_rows_in_the_given_order():
    _, (rows_a, rows_b) = _click_rows(_click_interactions())
    users = np.array([3, 0, 4, 1])
    dataset = click_pair_dataset(rows_a, rows_b, users, batch_size=3, shuffle=False)
    assert dataset.element_spec["x_a"].dtype == tf.float32
    batches = _batches(dataset)
    assert [b["x_a"].shape for b in batches] == [(3, 3), (1, 3)]  # the last batch is smaller
    assert [b["x_b"].shape for b in batches] == [(3, 2), (1, 2)]
    for batch, chosen in zip(batches, (users[:3], users[3:])):
        assert batch["x_a"].dtype == np.float32 and batch["x_b"].dtype == np.float32
        np.testing.assert_array_equal(batch["x_a"], CLICKS_A[chosen])
        np.testing.assert_array_equal(batch["x_b"], CLICKS_B[chosen])
    # u1's repeated click on a1 is a 1, not a 2.
    assert batches[0]["x_a"][1].tolist() == [1.0, 0.0, 1.0]


def _one_hot_clicks(num_users: int) -> Interactions:
    """User i clicks item i in A and item i % 3 in B: the A vector names the user."""
    rows = []
    for user in range(num_users):
        rows.append((f"u{user:02d}", f"a{user:02d}", "A"))
        rows.append((f"u{user:02d}", f"b{user % 3}", "B"))
    return _interactions(rows, ["user_id", "item_id", "domain"])


def _user_order(dataset: tf.data.Dataset) -> list[int]:
    return [int(u) for batch in dataset for u in np.argmax(batch["x_a"].numpy(), axis=1)]


def test_click_pair_shuffle_is_seeded_and_reshuffles_each_epoch():
    _, (rows_a, rows_b) = _click_rows(_one_hot_clicks(20))
    users = np.arange(20)

    def epochs(seed: int) -> list[list[int]]:
        dataset = click_pair_dataset(rows_a, rows_b, users, batch_size=4, seed=seed)
        return [_user_order(dataset), _user_order(dataset)]

    first, again, other = epochs(7), epochs(7), epochs(8)
    assert first == again
    assert first[0] != other[0]
    assert first[0] != first[1]  # a new order each epoch
    for order in first + other:
        assert sorted(order) == list(range(20))  # a permutation: every user exactly once


def test_click_pairs_only_hold_the_given_users():
    interactions = _one_hot_clicks(30)
    split = split_users(interactions.frame, (0.6, 0.0, 0.4), seed=3)
    vocabs, (rows_a, rows_b) = _click_rows(interactions, split)
    part = split.drop_duplicates("user_id").set_index("user_id")["split"]
    train = np.sort(vocabs.users.index(part.index[part.to_numpy() == "train"]))
    test = np.sort(vocabs.users.index(part.index[part.to_numpy() == "test"]))
    assert len(train) == 18 and len(test) == 12
    train_vectors = {tuple(v) for v in rows_a.dense(train)}
    test_vectors = {tuple(v) for v in rows_a.dense(test)}
    assert not train_vectors & test_vectors
    seen = []
    for batch in click_pair_dataset(rows_a, rows_b, train, batch_size=5, seed=1):
        for x_a, x_b in zip(batch["x_a"].numpy(), batch["x_b"].numpy()):
            assert tuple(x_a) in train_vectors and tuple(x_a) not in test_vectors
            user = int(np.argmax(x_a))
            np.testing.assert_array_equal(x_b, rows_b.dense(np.array([user]))[0])
            seen.append(user)
    assert sorted(seen) == train.tolist()


def test_click_pairs_of_no_users_are_empty():
    _, (rows_a, rows_b) = _click_rows(_click_interactions())
    for shuffle in (False, True):
        dataset = click_pair_dataset(rows_a, rows_b, np.array([], np.int64), 4, shuffle=shuffle)
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


def _sequences(split_frame, interactions, **kwargs):
    vocabs = Vocabularies.build(interactions.frame, interactions.domains)
    return build_sequences(split_frame, interactions.domains, vocabs.users, vocabs.items,
                           **kwargs)


def test_special_tokens():
    assert (PAD_ID, MASK_ID, EOS_ID, NUM_SPECIAL_TOKENS) == (0, 1, 2, 3)


def test_sequences_are_recent_items_in_time_order_left_padded():
    interactions = _sequence_interactions()
    frame = interactions.frame.assign(split="train")
    # Tokens: a1..a5 -> 3..7, b1..b3 -> 3..5.
    examples = _sequences(frame, interactions, max_len=3)
    f = examples.features
    assert sorted(f) == ["items_0", "items_1", "length_0", "length_1", "user"]
    assert len(examples) == 3
    np.testing.assert_array_equal(f["user"], [0, 1, 2])
    # u1's A items by time: a3 a1 a2 a4 a5; the last three are kept.
    np.testing.assert_array_equal(f["items_0"], [[4, 6, 7], [0, 0, 4], [0, 0, 0]])
    np.testing.assert_array_equal(f["items_1"], [[0, 4, 3], [3, 4, 5], [0, 0, 5]])
    np.testing.assert_array_equal(f["length_0"], [3, 1, 0])
    np.testing.assert_array_equal(f["length_1"], [2, 3, 1])
    for name in ("items_0", "items_1", "length_0", "length_1"):
        assert f[name].dtype == np.int32
    assert f["user"].dtype == np.int64

    untruncated = _sequences(frame, interactions, max_len=6).features
    np.testing.assert_array_equal(untruncated["items_0"][0], [0, 5, 3, 4, 6, 7])
    np.testing.assert_array_equal(untruncated["length_0"], [5, 1, 0])

    with_eos = _sequences(frame, interactions, max_len=3, add_eos=True).features
    np.testing.assert_array_equal(with_eos["items_1"], [[0, 4, 3, 2], [3, 4, 5, 2], [0, 0, 5, 2]])
    np.testing.assert_array_equal(with_eos["length_1"], [2, 3, 1])  # [eos] is not counted


def test_sequence_targets_are_held_out_of_the_history():
    interactions = _sequence_interactions()
    split = leave_one_out(interactions.frame)
    examples = _sequences(split, interactions, max_len=4, target_split="test", add_eos=True)
    f = examples.features
    assert sorted(f) == ["items_0", "items_1", "length_0", "length_1", "target_0", "target_1",
                         "user"]
    # u1: A train a3 a1 a2 (a4 val, a5 test); B train b2 (b1 test).
    # u2: A train a2 (a single event stays in train); B train b1 (b2 val, b3 test).
    np.testing.assert_array_equal(f["items_0"], [[0, 5, 3, 4, 2], [0, 0, 0, 4, 2], [0, 0, 0, 0, 2]])
    np.testing.assert_array_equal(f["items_1"], [[0, 0, 0, 4, 2], [0, 0, 0, 3, 2], [0, 0, 0, 5, 2]])
    np.testing.assert_array_equal(f["target_0"], [7, PAD_ID, PAD_ID])
    np.testing.assert_array_equal(f["target_1"], [3, 5, PAD_ID])
    np.testing.assert_array_equal(f["length_0"], [3, 1, 0])
    assert f["target_0"].dtype == np.int32 and f["target_1"].dtype == np.int32

    # A test example sees train and validation, still not the target.
    test = _sequences(split, interactions, max_len=4, history_splits=("train", "val"),
                      target_split="test").features
    np.testing.assert_array_equal(test["items_0"], [[5, 3, 4, 6], [0, 0, 0, 4], [0, 0, 0, 0]])
    np.testing.assert_array_equal(test["items_1"], [[0, 0, 0, 4], [0, 0, 3, 4], [0, 0, 0, 5]])


def test_a_user_with_only_a_target_gets_an_example_only_when_targets_are_asked_for():
    interactions = _sequence_interactions()
    frame = interactions.frame.assign(split="train")
    frame.loc[frame["user_id"] == "u3", "split"] = "test"
    history_only = _sequences(frame, interactions, max_len=2).features
    np.testing.assert_array_equal(history_only["user"], [0, 1])
    with_target = _sequences(frame, interactions, max_len=2, target_split="test").features
    np.testing.assert_array_equal(with_target["user"], [0, 1, 2])
    np.testing.assert_array_equal(with_target["items_1"][2], [0, 0])
    assert with_target["target_1"][2] == 5


def test_leave_one_out_targets_never_appear_in_train_histories(planted_frame):
    interactions = select_domains(RawDataset("planted", planted_frame, None, None, {}),
                                  ("books", "movies"))
    split = leave_one_out(interactions.frame)
    vocabs = Vocabularies.build(split, interactions.domains)
    f = build_sequences(split, interactions.domains, vocabs.users, vocabs.items, max_len=50,
                        target_split="test").features
    assert len(f["user"]) == 600
    for k, domain in enumerate(interactions.domains):
        part = split[split["domain"] == domain]
        train_counts = part[part["split"] == "train"].groupby("user_id").size()
        np.testing.assert_array_equal(
            f[f"length_{k}"], train_counts.reindex(vocabs.users.ids).to_numpy()[f["user"]])
        for target, history in zip(f[f"target_{k}"], f[f"items_{k}"]):
            assert target != PAD_ID and target not in history


def test_sequence_dataset_batches():
    interactions = _sequence_interactions()
    examples = _sequences(leave_one_out(interactions.frame), interactions, max_len=4,
                          target_split="test", add_eos=True)
    batches = _batches(examples.dataset(batch_size=2, shuffle=False))
    assert [b["items_0"].shape for b in batches] == [(2, 5), (1, 5)]
    assert [b["target_1"].shape for b in batches] == [(2,), (1,)]
    for batch in batches:
        assert {name: value.dtype for name, value in batch.items()} == {
            "items_0": np.int32, "items_1": np.int32, "length_0": np.int32,
            "length_1": np.int32, "target_0": np.int32, "target_1": np.int32,
            "user": np.int64}
    joined = _concat(batches)
    for name, values in examples.features.items():
        np.testing.assert_array_equal(joined[name], values)
    shuffled = _concat(_batches(examples.dataset(batch_size=2, seed=4)))
    order = np.argsort(shuffled["user"])
    for name, values in examples.features.items():
        np.testing.assert_array_equal(shuffled[name][order], values)


def test_sequences_of_no_users_are_empty():
    interactions = _sequence_interactions()
    examples = _sequences(interactions.frame.assign(split="train"), interactions, max_len=3,
                          history_splits=("val",))
    assert len(examples) == 0 and examples.features["items_0"].shape == (0, 3)
    for shuffle in (False, True):
        assert _batches(examples.dataset(batch_size=2, shuffle=shuffle)) == []


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


# Frame order (user, time, domain, item) and the instances' expected values.
# Shared item index: a1..a3 -> 1..3, b1..b2 -> 3 + 1 + (0..1) = 4..5.
CTR_EXPECTED = {
    "user":       [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2],
    "item":       [1, 4, 2, 3, 5, 1, 2, 4, 5, 3, 1],
    "domain":     [0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0],
    "label":      [1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1],
    # Clicked A items strictly before, most recent last, history_len 2.
    "hist_0": [[0, 0], [0, 1], [0, 1], [0, 1], [0, 1], [1, 3], [1, 3], [3, 2],
               [0, 0], [0, 0], [0, 0]],
    "hist_1": [[0, 0], [0, 0], [0, 4], [0, 4], [0, 4], [4, 5], [4, 5], [4, 5],
               [0, 0], [0, 5], [0, 5]],
    # gender: F -> 1, "" -> 0 (unknown); zip prefix "12" -> 1, "98" -> 2.
    "u_gender":   [1] * 8 + [0] * 3,
    "u_zip_code": [1] * 8 + [2] * 3,
    # year: 1990 -> 1, 1995 -> 2, missing -> 0.
    "i_year":     [1, 1, 0, 2, 0, 1, 0, 1, 0, 2, 1],
    # genres: Action -> 1, Comedy -> 2, Drama -> 3; two slots.
    "genres": [[3, 0], [1, 2], [2, 3], [0, 0], [0, 0], [3, 0], [2, 3], [1, 2], [0, 0],
               [0, 0], [3, 0]],
}


def _ctr(interactions: Interactions, split_frame=None, part=None, history_len=2):
    split_frame = interactions.frame if split_frame is None else split_frame
    vocabs = Vocabularies.build(split_frame, interactions.domains)
    spec = CtrSpec(history_len=history_len, max_genres=2)
    return build_ctr_instances(interactions, split_frame, vocabs, part, spec)


def test_ctr_instances_have_leak_free_histories_and_indexed_fields():
    instances = _ctr(_ctr_interactions())
    assert len(instances) == 11
    assert instances.field_sizes == {"user": 3, "u_gender": 2, "u_zip_code": 3, "item": 6,
                                     "i_year": 3, "genres": 4, "domain": 2}
    dataset = instances.dataset(batch_size=4, shuffle=False)
    batches = _batches(dataset)
    assert [len(b["label"]) for b in batches] == [4, 4, 3]
    assert set(batches[0]) == set(CTR_EXPECTED)
    for batch in batches:
        for name, value in batch.items():
            assert value.dtype == (np.float32 if name == "label" else np.int32), name
        assert batch["hist_0"].shape[1:] == (2,) and batch["genres"].shape[1:] == (2,)
    got = _concat(batches)
    for name, expected in CTR_EXPECTED.items():
        np.testing.assert_array_equal(got[name], np.asarray(expected), err_msg=name)


def test_ctr_histories_are_truncated_to_the_most_recent():
    got = _concat(_batches(_ctr(_ctr_interactions(), history_len=1).dataset(4, shuffle=False)))
    np.testing.assert_array_equal(got["hist_0"][:, 0], [0, 1, 1, 1, 1, 3, 3, 2, 0, 0, 0])
    got = _concat(_batches(_ctr(_ctr_interactions(), history_len=4).dataset(4, shuffle=False)))
    np.testing.assert_array_equal(got["hist_0"][7], [0, 1, 3, 2])
    np.testing.assert_array_equal(got["hist_1"][7], [0, 0, 4, 5])


def test_ctr_labels_come_from_the_label_column_when_present():
    got = _concat(_batches(_ctr(_ctr_interactions(label=True)).dataset(4, shuffle=False)))
    np.testing.assert_array_equal(got["label"], 1 - np.asarray(CTR_EXPECTED["label"]))
    # Histories follow the labels: u1's A clicks are now a2@3 and a1@6.
    np.testing.assert_array_equal(got["hist_0"][:8], [[0, 0], [0, 0], [0, 0], [0, 2], [0, 2],
                                                      [0, 2], [2, 1], [2, 1]])


def test_ctr_instances_of_a_part_see_every_earlier_click():
    interactions = _ctr_interactions()
    split = interactions.frame.assign(split="train")
    split.loc[[5, 6, 7], "split"] = "test"  # u1 at t=6, 7, 9
    got = _concat(_batches(_ctr(interactions, split, part="test").dataset(4, shuffle=False)))
    np.testing.assert_array_equal(got["item"], [1, 2, 4])
    np.testing.assert_array_equal(got["hist_0"], CTR_EXPECTED["hist_0"][5:8])
    np.testing.assert_array_equal(got["hist_1"], CTR_EXPECTED["hist_1"][5:8])
    # The a2@7 test click is in the t=9 test instance's history, as it would be when served.
    assert got["hist_0"][2, -1] == 2


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


def _brute_force_histories(frame, vocabs, threshold, history_len):
    """For each row, each domain's clicked items strictly earlier, built one by one."""
    offsets = {"A": 0, "B": len(vocabs.items["A"])}
    clicks = {}  # (user, domain) -> [(timestamp, row, item)]
    for row, event in enumerate(frame.itertuples(index=False)):
        if event.rating >= threshold:
            item = vocabs.items[event.domain].ids.index(event.item_id) + offsets[event.domain] + 1
            clicks.setdefault((event.user_id, event.domain), []).append(
                (event.timestamp, row, item))
    out = {"hist_0": [], "hist_1": []}
    for event in frame.itertuples(index=False):
        for k, domain in enumerate(DOMAINS):
            earlier = sorted(c for c in clicks.get((event.user_id, domain), [])
                             if c[0] < event.timestamp)
            items = [item for _, _, item in earlier][-history_len:]
            out[f"hist_{k}"].append([0] * (history_len - len(items)) + items)
    return {name: np.array(values, np.int32) for name, values in out.items()}


@pytest.mark.parametrize("history_len", [3, 50])
def test_ctr_histories_match_brute_force_on_random_data(history_len):
    frame = _random_frame()
    interactions = _interactions(frame, frame.columns)
    # Rows in an arbitrary order: instances follow the split frame's order.
    split_frame = interactions.frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    vocabs = Vocabularies.build(split_frame, DOMAINS)
    spec = CtrSpec(history_len=history_len)
    instances = build_ctr_instances(interactions, split_frame, vocabs, None, spec)
    expected = _brute_force_histories(split_frame, vocabs, spec.label_threshold, history_len)
    got = _concat(_batches(instances.dataset(batch_size=256, shuffle=False)))
    assert len(got["label"]) == 2000
    np.testing.assert_array_equal(got["label"], (split_frame["rating"] >= 4).to_numpy())
    for name in ("hist_0", "hist_1"):
        np.testing.assert_array_equal(got[name], expected[name])
    assert (expected["hist_0"] > 0).any(axis=1).mean() > 0.5  # the check is not vacuous

    # Shuffled batches keep each instance with its own histories.
    shuffled = _concat(_batches(instances.dataset(batch_size=256, seed=3)))

    def instance_rows(features):
        return sorted(zip(features["user"].tolist(), features["item"].tolist(),
                          features["label"].tolist(), map(tuple, features["hist_0"].tolist()),
                          map(tuple, features["hist_1"].tolist())))

    assert instance_rows(shuffled) == instance_rows(got)


def test_ctr_needs_timestamps_and_labels():
    interactions = _ctr_interactions()
    no_time = interactions.frame.drop(columns="timestamp")
    with pytest.raises(DataError, match="CTR instances need a 'timestamp' column to build "
                                        "leak-free histories"):
        _ctr(interactions, no_time)
    no_label = interactions.frame.drop(columns="rating")
    with pytest.raises(DataError, match="CTR instances need a 'label' or a 'rating' column; "
                                        "the data has neither"):
        _ctr(interactions, no_label)


def test_ctr_instances_of_an_empty_part_are_empty():
    interactions = _ctr_interactions()
    instances = _ctr(interactions, interactions.frame.assign(split="train"), part="test")
    assert len(instances) == 0
    for shuffle in (False, True):
        assert _batches(instances.dataset(batch_size=4, shuffle=shuffle)) == []


def test_continuous_columns_are_numeric_with_many_values():
    from tfxdr.data.ctr import continuous_values

    spec = CtrSpec(max_categories=3)
    np.testing.assert_array_equal(
        continuous_values(pd.Series(["1990", "", "1995", "2001.5", "1990", "1970"]), spec),
        np.array([1990, np.nan, 1995, 2001.5, 1990, 1970], np.float32))
    assert continuous_values(pd.Series(["1", "2", "3", "1"]), spec) is None  # few values
    assert continuous_values(pd.Series(["1", "2", "3", "4", "x5"]), spec) is None  # not numbers
