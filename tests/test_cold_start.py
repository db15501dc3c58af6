"""DADIN's cold-start resampling (Algorithm 2)."""

import numpy as np
import pandas as pd
import pytest

from tfxdr.data import SplitSpec, load_split, make_split, save_split
from tfxdr.data.cold_start import DAY_SECONDS, cold_start_split
from tfxdr.data.domains import Interactions
from tfxdr.errors import DataError

DAY = DAY_SECONDS


def _frame(num_users=20):
    """Each user: source events on days 0, 1, 2.25 and 3; target events on days 0, 2, 2.5.

    The last target day is (1.5, 2.5] days: source days 2.25 and 3 fall after its start.
    """
    rows = []
    for u in range(num_users):
        rows += [(f"u{u}", f"s{u}a", "news", 0), (f"u{u}", f"s{u}b", "news", DAY),
                 (f"u{u}", f"s{u}c", "news", 2 * DAY + DAY // 4),
                 (f"u{u}", f"s{u}d", "news", 3 * DAY),
                 (f"u{u}", f"t{u}a", "ads", 10), (f"u{u}", f"t{u}b", "ads", 2 * DAY),
                 (f"u{u}", f"t{u}c", "ads", 2 * DAY + DAY // 2)]
    # Exactly one day before u0's last target event: outside the (last - 1 day, last] window.
    rows.append(("u0", "t0edge", "ads", DAY + DAY // 2))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp"])


def _split(seed=0, **kwargs):
    kwargs.setdefault("evaluate_source", False)
    return cold_start_split(_frame(), "ads", a_train=0.8, a_cross=0.25, seed=seed, **kwargs)


def test_users_and_rows_follow_algorithm_2():
    split = _split()
    train_users = set(split.loc[split["split"] == "train", "user_id"])
    evaluated = split[split["split"].isin(["val", "test"])]
    assert len(train_users) == 16
    per_user_part = evaluated.groupby("user_id")["split"].nunique()
    assert (per_user_part == 1).all()  # a user is wholly validation or test
    parts = evaluated.drop_duplicates("user_id")["split"].value_counts()
    assert parts["val"] == 4 and parts["test"] == 4  # 4 overlapping + 4 cold users
    overlap = set(evaluated["user_id"]) & train_users
    cold = set(evaluated["user_id"]) - train_users
    assert len(overlap) == 4 and len(cold) == 4
    # Evaluation rows are the last target day only (t = 2 days and 2.5 days).
    assert set(evaluated["domain"]) == {"ads"}
    assert set(evaluated["timestamp"]) == {2 * DAY, 2 * DAY + DAY // 2}
    for user in overlap:  # rows before the last target day stay in training, later: history
        rows = split[split["user_id"] == user].set_index("item_id")["split"]
        n = user[1:]
        assert rows[f"s{n}a"] == rows[f"s{n}b"] == rows[f"t{n}a"] == "train"
        assert rows[f"s{n}c"] == rows[f"s{n}d"] == "context"
    for user in cold:  # cold users: source as context, earlier target rows dropped
        rows = split[split["user_id"] == user].set_index("item_id")["split"].to_dict()
        n = user[1:]
        assert rows[f"s{n}a"] == rows[f"s{n}b"] == rows[f"s{n}c"] == "context"
        assert f"t{n}a" not in rows
    # No evaluation row is also a training row.
    assert not split[split["split"] == "train"].index.intersection(evaluated.index).size


def test_source_domain_is_evaluated_on_the_same_users_from_the_same_cutoff():
    target_only, both = _split(), _split(evaluate_source=True)
    evaluated = both[both["split"].isin(["val", "test"])]
    source_rows = evaluated[evaluated["domain"] == "news"]
    # Source events after the start of the last target day (1.5 days): days 2.25 and 3.
    assert set(source_rows["timestamp"]) == {2 * DAY + DAY // 4, 3 * DAY}
    target_eval = target_only[target_only["split"].isin(["val", "test"])]
    assert set(source_rows["user_id"]) == set(target_eval["user_id"])
    part_of = target_eval.drop_duplicates("user_id").set_index("user_id")["split"]
    assert (source_rows.set_index("user_id")["split"] == part_of.reindex(
        source_rows["user_id"]).to_numpy()).all()
    # Nothing else moves: target rows are assigned exactly as in Algorithm 2, and the
    # source rows held out here are the ones kept as history without source evaluation.
    moved = target_only.loc[source_rows.index, "split"]
    assert (moved == "context").all()
    pd.testing.assert_frame_equal(both[both["domain"] == "ads"],
                                  target_only[target_only["domain"] == "ads"])
    assert len(both) == len(target_only)


@pytest.mark.parametrize("evaluate_source", [True, False])
def test_no_training_row_follows_an_evaluated_row_of_its_user(evaluate_source):
    """Training rows' histories (events strictly before them) never hold evaluated clicks."""
    split = _split(evaluate_source=evaluate_source)
    _assert_training_precedes_evaluation(split)


def _assert_training_precedes_evaluation(split):
    times = split.groupby(["user_id", "split"])["timestamp"]
    last_train = times.max().xs("train", level="split")
    first_eval = times.min().unstack()[["val", "test"]].min(axis=1).dropna()
    both = last_train.index.intersection(first_eval.index)
    assert len(both) > 0  # overlapping users exist: the check is not vacuous
    assert (last_train[both] <= first_eval[both]).all()


def test_window_is_the_24_hours_ending_at_the_last_target_event():
    frame = _frame()
    split = cold_start_split(frame, "ads", a_train=0.0, a_cross=0.0, seed=0,
                             evaluate_source=False)
    u0 = split[split["user_id"] == "u0"].set_index("item_id")["split"]
    assert "t0edge" not in u0.index  # exactly one day before the last event: outside
    assert u0["t0c"] in ("val", "test") and u0["t0b"] == u0["t0c"]


def test_cold_target_history_kept_as_context_when_asked():
    dropped, kept = _split(), _split(keep_cold_target_history=True)
    cold = (set(kept.loc[kept["split"] == "context", "user_id"])
            - set(kept.loc[kept["split"] == "train", "user_id"]))
    assert len(cold) == 4
    for user in cold:
        rows = kept[kept["user_id"] == user].set_index("item_id")["split"]
        assert rows[f"t{user[1:]}a"] == "context"  # earlier target row: history only
    assert len(kept) == len(dropped) + 4


def test_seeded_and_validated():
    pd.testing.assert_frame_equal(_split(seed=3), _split(seed=3))
    assert not _split(seed=3)["split"].equals(_split(seed=4)["split"])
    with pytest.raises(DataError, match=r"a_cross=1.5 is invalid: expected a fraction in \[0, 1\]"):
        cold_start_split(_frame(), "ads", a_train=0.8, a_cross=1.5, seed=0)


def test_make_split_takes_the_last_domain_as_the_target_and_round_trips(tmp_path):
    interactions = Interactions(_frame(), ("news", "ads"), None, None, "x")
    spec = SplitSpec(kind="cold_start", seed=1, a_train=0.5, a_cross=0.2)
    split = make_split(interactions, spec)
    assert set(split.loc[split["split"].isin(["val", "test"]), "domain"]) == {"ads", "news"}
    target_only = make_split(interactions, SplitSpec(kind="cold_start", seed=1, a_train=0.5,
                                                     a_cross=0.2, evaluate_source=False))
    assert set(target_only.loc[target_only["split"].isin(["val", "test"]), "domain"]) == {"ads"}
    save_split(tmp_path, split, spec)
    loaded, loaded_spec = load_split(tmp_path)
    assert loaded_spec == spec
    pd.testing.assert_frame_equal(loaded[["user_id", "item_id", "domain", "timestamp", "split"]],
                                  split.reset_index(drop=True))
    # Listed the other way round, news is the target: a cold user keeps only the last
    # news day (2.25 and 3 days), and ads from its start on are held out with it.
    reversed_split = make_split(Interactions(_frame(), ("ads", "news"), None, None, "x"), spec)
    train_users = set(reversed_split.loc[reversed_split["split"] == "train", "user_id"])
    cold = reversed_split[~reversed_split["user_id"].isin(train_users)]
    assert len(cold) and set(cold.loc[cold["domain"] == "news", "timestamp"]) == {
        2 * DAY + DAY // 4, 3 * DAY}
    context = cold[(cold["split"] == "context") & (cold["user_id"] != "u0")]  # u0: t0edge
    assert set(context["timestamp"]) == {10, 2 * DAY}


def _three_domain_frame():
    """_frame() plus a second source, music, on days 0.5 and 2.75 of every user."""
    frame = _frame()
    music = [(f"u{u}", f"x{u}{k}", "music", t)
             for u in range(20) for k, t in (("a", DAY // 2), ("b", 2 * DAY + 3 * DAY // 4))]
    return pd.concat([frame, pd.DataFrame(music, columns=frame.columns)], ignore_index=True)


def test_with_three_domains_every_source_is_held_out_from_the_same_cutoff():
    frame = _three_domain_frame()
    interactions = Interactions(frame, ("news", "music", "ads"), None, None, "x")
    split = make_split(interactions, SplitSpec(kind="cold_start", seed=0, a_train=0.8,
                                               a_cross=0.25))
    # ads, listed last, is the target: its users are sampled and its last day is held
    # out exactly as with one source.
    pd.testing.assert_frame_equal(split[split["domain"] != "music"].reset_index(drop=True),
                                  _split(evaluate_source=True).reset_index(drop=True))
    music = split[split["domain"] == "music"].set_index("item_id")["split"]
    train_users = set(split.loc[split["split"] == "train", "user_id"])
    part_of = split[split["domain"] == "ads"].groupby("user_id")["split"].agg(
        lambda parts: ({"val", "test"} & set(parts) or {"train"}).pop())
    for user in (f"u{u}" for u in range(20)):
        n = user[1:]
        evaluated = part_of[user] in ("val", "test")
        # Day 0.5 is before the cut-off (day 1.5): training for training users, history
        # for cold ones.  Day 2.75 is after it: held out with the user's target rows.
        assert music[f"x{n}a"] == ("train" if user in train_users else "context")
        assert music[f"x{n}b"] == (part_of[user] if evaluated else "train")
    _assert_training_precedes_evaluation(split)


@pytest.mark.integration
def test_most_evaluated_ml1m_users_are_cold_in_the_target_domain():
    from tfxdr.experiment import DataConfig, load_interactions

    interactions = load_interactions(DataConfig(dataset="ml-1m", domains=("Drama", "Comedy")),
                                     quiet=True)
    split = make_split(interactions, SplitSpec(kind="cold_start", seed=0))
    target_train_users = set(split.loc[(split["split"] == "train")
                                       & (split["domain"] == "Comedy"), "user_id"])
    test_users = set(split.loc[split["split"] == "test", "user_id"])
    cold_share = np.mean([u not in target_train_users for u in test_users])
    # a_train = 0.8, a_cross = 0.1: 20% cold and 8% overlapping users, so at least 71% of
    # the evaluated users are cold; more, because many MovieLens users rate all their
    # movies within one day, which leaves an overlapping user nothing to train on.
    assert cold_share > 0.7
    _assert_training_precedes_evaluation(split)
    source_test_users = set(split.loc[(split["split"] == "test")
                                      & (split["domain"] == "Drama"), "user_id"])
    assert len(source_test_users) > 0.5 * len(test_users)
