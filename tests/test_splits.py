"""Splits are deterministic, disjoint where they must be, and saved faithfully."""

import pandas as pd
import pytest

from tfxdr.data import SplitSpec, load_split, make_split, save_split
from tfxdr.data.domains import Interactions
from tfxdr.data.splits import chronological, leave_one_out, split_users
from tfxdr.errors import DataError


def _frame():
    # u1: books at t=1,2,3,4 and movies at t=5; u2: books at t=9, 8 (out of order), 7.
    rows = [("u1", "b1", "books", 1), ("u1", "b2", "books", 2), ("u1", "b3", "books", 3),
            ("u1", "b4", "books", 4), ("u1", "m1", "movies", 5),
            ("u2", "b9", "books", 9), ("u2", "b8", "books", 8), ("u2", "b7", "books", 7)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp"])


def test_user_split_is_seeded_and_sized(planted_frame):
    a = split_users(planted_frame, (0.7, 0.05, 0.25), seed=1)
    b = split_users(planted_frame, (0.7, 0.05, 0.25), seed=1)
    c = split_users(planted_frame, (0.7, 0.05, 0.25), seed=2)
    pd.testing.assert_series_equal(a["split"], b["split"])
    assert not a["split"].equals(c["split"])
    per_user = a.drop_duplicates("user_id")["split"].value_counts()
    assert (per_user["train"], per_user["val"], per_user["test"]) == (420, 30, 150)
    assert (a.groupby("user_id")["split"].nunique() == 1).all()


def test_leave_one_out_holds_out_last_by_time_per_user_and_domain():
    split = leave_one_out(_frame()).set_index("item_id")["split"]
    assert split.to_dict() == {
        "b1": "train", "b2": "train", "b3": "val", "b4": "test",  # u1 books
        "m1": "train",                                          # a single movie stays in train
        "b7": "train", "b8": "val", "b9": "test",               # u2: order by time, not by row
    }


def test_chronological_fractions_per_user():
    split = chronological(_frame(), (0.5, 0.25, 0.25)).set_index("item_id")["split"]
    # u1 has 5 events: train the first round(2.5)=2, val up to round(3.75)=4, then test.
    assert [split[i] for i in ("b1", "b2", "b3", "b4", "m1")] == [
        "train", "train", "val", "val", "test"]
    # u2 has 3 events: train round(1.5)=2, val up to round(2.25)=2 (none), test the last.
    assert [split[i] for i in ("b7", "b8", "b9")] == ["train", "train", "test"]


def test_no_test_interaction_precedes_a_train_one_in_time_splits():
    frame = _frame()
    for split in (leave_one_out(frame), chronological(frame, (0.6, 0.2, 0.2))):
        for _, rows in split.groupby(["user_id", "domain"]):
            train_times = rows.loc[rows["split"] == "train", "timestamp"]
            test_times = rows.loc[rows["split"] == "test", "timestamp"]
            if len(train_times) and len(test_times):
                assert train_times.max() < test_times.min()


def test_time_splits_need_timestamps_and_fractions_are_checked():
    interactions = Interactions(_frame().drop(columns="timestamp"), ("books", "movies"),
                                None, None, "x")
    with pytest.raises(DataError, match="^x: split 'leave_one_out' needs a 'timestamp' column, "
                                        "which the data lacks$"):
        make_split(interactions, SplitSpec(kind="leave_one_out"))
    with pytest.raises(DataError, match=r"^split_fractions '0.5,0.5,0.5' is invalid: expected "
                                        r"three positive numbers \(train, val, test\) summing "
                                        r"to 1; selection needs a validation split$"):
        make_split(interactions, SplitSpec(fractions=(0.5, 0.5, 0.5)))
    with pytest.raises(DataError, match=r"^a_train 1.5 is invalid: expected a share in \(0, 1\]$"):
        make_split(interactions, SplitSpec(a_train=1.5))


def test_save_and_load_round_trip(tmp_path):
    interactions = Interactions(_frame(), ("books", "movies"), None, None, "x")
    spec = SplitSpec(kind="leave_one_out", seed=5)
    split = make_split(interactions, spec)
    save_split(tmp_path, split, spec)
    loaded, loaded_spec = load_split(tmp_path)
    assert loaded_spec == spec
    pd.testing.assert_frame_equal(loaded, split.reset_index(drop=True), check_dtype=False)


def test_a_given_split_is_kept_as_it_is_and_checked():
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u3"], "item_id": ["a", "b", "a", "c"],
                          "domain": ["A", "B", "A", "B"],
                          "split": ["train", "train", "val", "test"]})
    given = Interactions(frame, ("A", "B"), None, None, "pipeline", "rows.tfrecord")
    pd.testing.assert_frame_equal(make_split(given, SplitSpec(kind="given")), frame)
    bad = Interactions(frame.assign(split=["train", "train", "eval", "test"]), ("A", "B"),
                       None, None, "pipeline", "rows.tfrecord")
    with pytest.raises(DataError, match=r"^rows\.tfrecord: split value 'eval' is invalid: "
                                        r"expected train, val, test or context$"):
        make_split(bad, SplitSpec(kind="given"))
    no_val = Interactions(frame.assign(split="train"), ("A", "B"), None, None, "pipeline",
                          "rows.tfrecord")
    with pytest.raises(DataError, match=r"^rows\.tfrecord: the given split has no val rows$"):
        make_split(no_val, SplitSpec(kind="given"))


@pytest.mark.parametrize("name", ["clicks", "sequences", "matching"])
def test_a_task_that_reads_no_context_rows_refuses_them(name):
    from tfxdr.tasks import TASKS

    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u3"],
                          "split": ["train", "context", "val", "context"]})
    with pytest.raises(DataError) as raised:
        TASKS[name]().check_split(frame, "given.csv")
    assert str(raised.value) == (
        "given.csv: 2 rows have split value 'context', which only a cold-start CTR split uses; "
        f"the {name} task would not read them: expected train, val or test")
    TASKS["ctr"]().check_split(frame, "given.csv")  # the CTR task reads them
    TASKS[name]().check_split(frame[frame["split"] != "context"], "given.csv")
