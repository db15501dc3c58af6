"""Tests for tfxdr.metrics: every expected value is derived by hand in a comment."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tfxdr import metrics as M

# --------------------------------------------------------------------------
# Shared 6-item example
#
# scores  = [0.9, 0.1, 0.8, 0.3, 0.7, 0.2]  (item i has score scores[i])
# ranking = [0, 2, 4, 3, 5, 1]              (descending score)
# relevant = {1, 2, 3}                      (3 relevant items)
# hits by rank: rank1 item0 no, rank2 item2 YES, rank3 item4 no,
#               rank4 item3 YES, rank5 item5 no, rank6 item1 YES
# --------------------------------------------------------------------------

SCORES6 = np.array([[0.9, 0.1, 0.8, 0.3, 0.7, 0.2]])
RELEVANT6 = [np.array([1, 2, 3])]
L2, L3, L4, L5, L7 = (math.log2(x) for x in (2, 3, 4, 5, 7))


class ArrayLike:
    """Stands in for an eager tensor: converts only through __array__."""

    def __init__(self, values):
        self._values = np.asarray(values)

    def __array__(self, dtype=None, copy=None):
        return self._values if dtype is None else self._values.astype(dtype)


# --------------------------------------------------------------------------
# top_k_items
# --------------------------------------------------------------------------


def test_top_k_orders_by_score():
    # Descending order of SCORES6 is [0, 2, 4, 3, 5, 1].
    top = M.top_k_items(SCORES6, 4)
    assert top.dtype == np.int64
    np.testing.assert_array_equal(top, [[0, 2, 4, 3]])


def test_top_k_k_larger_than_catalogue_returns_all_items():
    top = M.top_k_items(SCORES6, 10)
    np.testing.assert_array_equal(top, [[0, 2, 4, 3, 5, 1]])


def test_top_k_exclusion_changes_ranking():
    # Excluding item 0 (score 0.9) promotes item 2 to rank 1: [2, 4, 3].
    top = M.top_k_items(SCORES6, 3, exclude=[np.array([0])])
    np.testing.assert_array_equal(top, [[2, 4, 3]])


def test_top_k_excluded_items_rank_last_when_catalogue_runs_out():
    # Items 1 and 2 are excluded (-inf) and tie; item 0 is the only real
    # candidate, then the tie is broken by lower index: [0, 1, 2].
    top = M.top_k_items([[0.1, 0.2, 0.3]], 3, exclude=[[1, 2]])
    np.testing.assert_array_equal(top, [[0, 1, 2]])


def test_top_k_does_not_modify_scores():
    scores = SCORES6.copy()
    M.top_k_items(scores, 2, exclude=[[0, 1]])
    np.testing.assert_array_equal(scores, SCORES6)


def test_top_k_ties_broken_by_lower_index_at_boundary():
    # Items 0, 2, 3 tie at 0.5 behind item 1 (0.9). The 2nd and 3rd places are
    # decided among the tie at the k boundary: lower index first.
    scores = [[0.5, 0.9, 0.5, 0.5, 0.1]]
    np.testing.assert_array_equal(M.top_k_items(scores, 2), [[1, 0]])
    np.testing.assert_array_equal(M.top_k_items(scores, 3), [[1, 0, 2]])
    np.testing.assert_array_equal(M.top_k_items(scores, 4), [[1, 0, 2, 3]])


def test_top_k_many_ties_at_boundary():
    # 99 items tie at 0.5, item 99 scores 1.0: top-5 is item 99 then 0..3.
    scores = np.full((1, 100), 0.5)
    scores[0, 99] = 1.0
    np.testing.assert_array_equal(M.top_k_items(scores, 5), [[99, 0, 1, 2, 3]])


@pytest.mark.parametrize("k", [1, 3, 17, 50, 200])
def test_top_k_matches_stable_sort_with_heavy_ties(k):
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 4, size=(60, 200)).astype(np.float32)
    exclude = [rng.choice(200, size=rng.integers(0, 20), replace=False) for _ in range(60)]
    masked = scores.astype(np.float64)
    for row, items in enumerate(exclude):
        masked[row, items] = -np.inf
    expected = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(M.top_k_items(scores, k, exclude=exclude), expected)


def test_top_k_accepts_array_like():
    top = M.top_k_items(ArrayLike(SCORES6.astype(np.float32)), 2)
    np.testing.assert_array_equal(top, [[0, 2]])


@pytest.mark.parametrize(
    ("scores", "k", "exclude", "message"),
    [
        (SCORES6, 0, None, "k must be a positive integer, got 0"),
        (SCORES6, -3, None, "k must be a positive integer, got -3"),
        (SCORES6, 2.5, None, "k must be a positive integer, got 2.5"),
        ([0.1, 0.2], 1, None, "scores must be a 2-D array, got shape (2,)"),
        (np.zeros((0, 4)), 1, None, "scores must be non-empty, got shape (0, 4)"),
        ([[0.1, np.nan]], 1, None, "scores must not contain NaN"),
        (SCORES6, 1, [[0], [1]], "exclude must have one entry per user: expected 1, got 2"),
        (SCORES6, 1, [[6]], "exclude[0] contains item index 6, expected indices in [0, 6)"),
        (SCORES6, 1, [[-1]], "exclude[0] contains a negative item index -1"),
        (SCORES6, 1, [[0.5]], "exclude[0] must contain integer item indices, got dtype float64"),
    ],
)
def test_top_k_errors(scores, k, exclude, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        M.top_k_items(scores, k, exclude=exclude)


# --------------------------------------------------------------------------
# ranking_metrics_per_user
# --------------------------------------------------------------------------


def test_ranking_metrics_hand_example():
    top = M.top_k_items(SCORES6, 6)
    values = M.ranking_metrics_per_user(top, RELEVANT6, ks=(1, 2, 4, 6))
    got = {key: float(v[0]) for key, v in values.items()}

    # K=1: top [0] -> no hit.
    assert got["recall@1"] == 0.0
    assert got["hr@1"] == 0.0
    assert got["ndcg@1"] == 0.0
    # K=2: top [0, 2] -> 1 hit (item 2 at rank 2), 3 relevant.
    #   recall        = 1/3
    #   recall_capped = 1/min(2, 3) = 1/2   (differs from recall)
    #   DCG  = 0/log2(2) + 1/log2(3)
    #   IDCG = 1/log2(2) + 1/log2(3)         (min(3, 2) = 2 ideal hits)
    assert got["recall@2"] == pytest.approx(1 / 3)
    assert got["recall_capped@2"] == pytest.approx(1 / 2)
    assert got["ndcg@2"] == pytest.approx((1 / L3) / (1 / L2 + 1 / L3))
    assert got["ndcg@2"] == pytest.approx(0.386853, abs=1e-6)
    assert got["hr@2"] == 1.0
    # K=4: top [0, 2, 4, 3] -> hits at ranks 2 and 4.
    #   recall = 2/3, recall_capped = 2/min(4, 3) = 2/3
    #   DCG  = 1/log2(3) + 1/log2(5)
    #   IDCG = 1/log2(2) + 1/log2(3) + 1/log2(4)   (3 ideal hits)
    assert got["recall@4"] == pytest.approx(2 / 3)
    assert got["recall_capped@4"] == pytest.approx(2 / 3)
    assert got["ndcg@4"] == pytest.approx((1 / L3 + 1 / L5) / (1 / L2 + 1 / L3 + 1 / L4))
    # K=6: all three relevant found at ranks 2, 4, 6.
    #   DCG = 1/log2(3) + 1/log2(5) + 1/log2(7)
    assert got["recall@6"] == 1.0
    assert got["ndcg@6"] == pytest.approx((1 / L3 + 1 / L5 + 1 / L7) / (1 / L2 + 1 / L3 + 1 / L4))


def test_ranking_metrics_after_exclusion():
    # Excluding item 0 gives ranking [2, 4, 3, 5, 1, 0]: rank-1 item 2 is a hit.
    #   hr@1 = 1, recall@1 = 1/3, recall_capped@1 = 1/min(1, 3) = 1
    #   ndcg@2 = (1/log2(2)) / (1/log2(2) + 1/log2(3))
    top = M.top_k_items(SCORES6, 2, exclude=[[0]])
    got = M.ranking_metrics_per_user(top, RELEVANT6, ks=(1, 2))
    assert got["hr@1"][0] == 1.0
    assert got["recall@1"][0] == pytest.approx(1 / 3)
    assert got["recall_capped@1"][0] == 1.0
    assert got["ndcg@2"][0] == pytest.approx((1 / L2) / (1 / L2 + 1 / L3))


def test_ranking_metrics_user_without_relevant_is_nan_and_duplicates_count_once():
    # User 0: relevant listed as [2, 2, 3, 1] is the set {1, 2, 3}: recall@2 = 1/3.
    # User 1: no relevant items -> NaN everywhere.
    top = M.top_k_items(np.vstack([SCORES6, SCORES6]), 2)
    got = M.ranking_metrics_per_user(top, [[2, 2, 3, 1], []], ks=(2,))
    assert set(got) == {"recall@2", "recall_capped@2", "ndcg@2", "hr@2"}
    assert got["recall@2"][0] == pytest.approx(1 / 3)
    for values in got.values():
        assert values.dtype == np.float64
        assert np.isnan(values[1])


def test_per_user_auc_against_the_unclicked_items_by_hand():
    scores = [[0.9, 0.1, 0.5, 0.3]] * 4 + [[0.5, 0.5, 0.2, 0.0]]
    relevant = [[0], [3], [2], [0, 7], [0]]
    exclude = [[1], [1], [], [1], [3]]
    # 0.9 beats {0.5, 0.3}; 0.3 loses to {0.9, 0.5}; 0.5 beats 0.1 and 0.3, loses to 0.9;
    # item 7 is beyond the catalogue: a positive below both negatives, (1 + 0) / (2 * 2);
    # 0.5 ties 0.5 (one half) and beats 0.2.
    np.testing.assert_allclose(M.per_user_auc(scores, relevant, exclude),
                               [1.0, 0.0, 2 / 3, 0.5, 0.75])


def test_per_user_auc_counts_an_excluded_positive_as_a_miss_and_nan_without_a_class():
    scores = [[0.9, 0.1, 0.5], [0.9, 0.1, 0.5], [0.9, 0.1, 0.5]]
    out = M.per_user_auc(scores, [[0, 2], [], [0, 1]], [[0], [], [2]])
    assert out[0] == 0.5  # 0.5 beats 0.1; item 0, excluded, loses: (1 + 0) / (2 * 1)
    assert np.isnan(out[1]) and np.isnan(out[2])  # no positive; no negative left


def test_per_user_auc_equals_the_auc_of_each_row_without_exclusions():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(6, 12)).astype(float)  # many ties
    relevant = [rng.choice(12, size=3, replace=False) for _ in range(6)]
    labels = np.zeros((6, 12))
    for row, items in enumerate(relevant):
        labels[row, items] = 1
    expected = [M.auc(labels[row], scores[row]) for row in range(6)]
    np.testing.assert_allclose(M.per_user_auc(scores, relevant), expected)


def test_ranking_metrics_subset_and_key_order():
    top = M.top_k_items(SCORES6, 4)
    got = M.ranking_metrics_per_user(top, RELEVANT6, ks=(4, 2), metrics=("hr", "ndcg"))
    assert list(got) == ["hr@4", "hr@2", "ndcg@4", "ndcg@2"]


def test_ranking_metrics_padding_entries_are_never_hits():
    # -1 marks an empty rank; the only hit is item 2 at rank 1 -> recall@3 = 1/2.
    got = M.ranking_metrics_per_user([[2, -1, -1]], [[2, 5]], ks=(3,))
    assert got["recall@3"][0] == pytest.approx(1 / 2)


@pytest.mark.parametrize(
    ("top", "relevant", "kwargs", "message"),
    [
        ([[0, 1]], [[0]], {"ks": (5,)}, "top_items must have at least max(ks)=5 columns, got 2"),
        ([[0, 1]], [[0], [1]], {"ks": (2,)}, "relevant must have one entry per user: expected 1, got 2"),
        ([0, 1], [[0]], {"ks": (2,)}, "top_items must be a 2-D array, got shape (2,)"),
        ([[0.0, 1.0]], [[0]], {"ks": (2,)}, "top_items must contain integer item indices, got float64"),
        ([[0, -2]], [[0]], {"ks": (2,)}, "top_items must contain item indices >= 0 (or -1 for padding)"),
        ([[0, 1]], [[0]], {"ks": (0,)}, "each k in ks must be a positive integer, got 0"),
        ([[0, 1]], [[0]], {"ks": ()}, "ks must contain at least one cutoff"),
        ([[0, 1]], [[0]], {"ks": (2, 2)}, "ks must not contain duplicates, got (2, 2)"),
        ([[0, 1]], [[0]], {"ks": 2}, "ks must be a sequence of positive integers, got 2"),
        (
            [[0, 1]],
            [[0]],
            {"ks": (2,), "metrics": ("mrr",)},
            "unknown ranking metric(s) ['mrr']; expected any of ('recall', 'recall_capped', 'ndcg', 'hr')",
        ),
        ([[0, 1]], [[-4]], {"ks": (2,)}, "relevant[0] contains a negative item index -4"),
    ],
)
def test_ranking_metrics_errors(top, relevant, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        M.ranking_metrics_per_user(top, relevant, **kwargs)


# --------------------------------------------------------------------------
# RankingAccumulator
# --------------------------------------------------------------------------


def _random_batch(seed: int, num_users: int = 40, num_items: int = 30):
    rng = np.random.default_rng(seed)
    scores = rng.random((num_users, num_items))
    relevant = [rng.choice(num_items, size=rng.integers(0, 5), replace=False) for _ in range(num_users)]
    exclude = [rng.choice(num_items, size=3, replace=False) for _ in range(num_users)]
    return scores, relevant, exclude


def test_accumulator_two_batches_equal_one_batch():
    scores, relevant, exclude = _random_batch(0)
    one = M.RankingAccumulator(ks=(5, 10))
    one.update(scores, relevant, exclude)
    two = M.RankingAccumulator(ks=(5, 10))
    two.update(scores[:15], relevant[:15], exclude[:15])
    two.update(scores[15:], relevant[15:], exclude[15:])

    assert one.num_users == two.num_users
    assert one.skipped_users == two.skipped_users
    assert one.result() == pytest.approx(two.result())
    for key, values in one.per_user().items():
        np.testing.assert_allclose(values, two.per_user()[key])


def test_accumulator_result_is_the_mean_over_users_with_relevant_items_by_hand():
    # Three users over 5 items, K in (1, 3), fed in two batches [A, C] and [B].
    # A: scores [0.5, 0.9, 0.1, 0.7, 0.3], item 1 excluded, relevant {3, 4}.
    #    Ranking without item 1: [3, 0, 4, 2]; top-3 [3, 0, 4]: hits at ranks 1 and 3.
    #    recall@1 = 1/2, recall@3 = 2/2; recall_capped@1 = 1/min(2, 1) = 1, @3 = 2/2;
    #    ndcg@1 = 1; ndcg@3 = (1/log2 2 + 1/log2 4) / (1/log2 2 + 1/log2 3)
    #                       = 1.5 / (1 + 1/log2 3); hr@1 = hr@3 = 1.
    # B: scores [0.2, 0.4, 0.6, 0.8, 1.0], relevant {0}: top-3 [4, 3, 2], no hit: all 0.
    # C: no relevant items: skipped.
    # Means over A and B: half of A's values.
    a = ([0.5, 0.9, 0.1, 0.7, 0.3], [3, 4], [1])
    b = ([0.2, 0.4, 0.6, 0.8, 1.0], [0], [])
    c = ([0.3, 0.2, 0.1, 0.0, 0.5], [], [])
    acc = M.RankingAccumulator(ks=(1, 3))
    for batch in ([a, c], [b]):
        acc.update(np.array([user[0] for user in batch]), [user[1] for user in batch],
                   [user[2] for user in batch])
    assert acc.num_users == 2
    assert acc.skipped_users == 1
    ndcg3_a = 1.5 / (1 + 1 / L3)
    expected = {"recall@1": 0.25, "recall@3": 0.5, "recall_capped@1": 0.5,
                "recall_capped@3": 0.5, "ndcg@1": 0.5, "ndcg@3": ndcg3_a / 2,
                "hr@1": 0.5, "hr@3": 0.5}
    result = acc.result()
    assert set(result) == set(expected)
    for key, value in expected.items():
        assert result[key] == pytest.approx(value), key
    # Per-user values in update order, the skipped user left out: A then B.
    np.testing.assert_allclose(acc.per_user()["ndcg@3"], [ndcg3_a, 0.0])
    np.testing.assert_allclose(acc.per_user()["recall@1"], [0.5, 0.0])


def test_accumulator_hand_example_and_skipped_user():
    # Batch: user 0 = the 6-item example, user 1 has no relevant items.
    # Only user 0 counts: recall@2 = 1/3, recall_capped@2 = 1/2, hr@2 = 1.
    acc = M.RankingAccumulator(ks=(2,))
    acc.update(np.vstack([SCORES6, SCORES6]), [[1, 2, 3], []])
    assert acc.num_users == 1
    assert acc.skipped_users == 1
    result = acc.result()
    assert result["recall@2"] == pytest.approx(1 / 3)
    assert result["recall_capped@2"] == pytest.approx(1 / 2)
    assert result["hr@2"] == 1.0


def test_accumulator_catalogue_smaller_than_k():
    # 6 items, K=10: the whole ranking [0, 2, 4, 3, 5, 1] is the list; all
    # three relevant items are found at ranks 2, 4, 6 -> recall@10 = 1 and
    # ndcg@10 = (1/log2 3 + 1/log2 5 + 1/log2 7) / (1/log2 2 + 1/log2 3 + 1/log2 4).
    acc = M.RankingAccumulator(ks=(10,), metrics=("recall", "ndcg"))
    acc.update(ArrayLike(SCORES6), RELEVANT6)
    result = acc.result()
    assert result["recall@10"] == 1.0
    assert result["ndcg@10"] == pytest.approx((1 / L3 + 1 / L5 + 1 / L7) / (1 / L2 + 1 / L3 + 1 / L4))


def test_accumulator_without_evaluated_users_raises():
    acc = M.RankingAccumulator(ks=(2,))
    with pytest.raises(ValueError, match="^no user with relevant items was evaluated$"):
        acc.result()
    acc.update(SCORES6, [[]])
    assert acc.skipped_users == 1
    assert acc.per_user()["recall@2"].shape == (0,)
    with pytest.raises(ValueError, match="^no user with relevant items was evaluated$"):
        acc.result()


def test_accumulator_reset():
    acc = M.RankingAccumulator(ks=(2,))
    acc.update(SCORES6, RELEVANT6)
    acc.reset()
    assert acc.num_users == 0
    assert acc.skipped_users == 0


def test_accumulator_relevant_length_mismatch():
    acc = M.RankingAccumulator(ks=(2,))
    with pytest.raises(ValueError, match=re.escape("relevant must have one entry per user: expected 1, got 2")):
        acc.update(SCORES6, [[1], [2]])


# --------------------------------------------------------------------------
# Sampled negatives
# --------------------------------------------------------------------------


def test_negatives_exclude_positive_and_excluded_items_without_duplicates():
    rng = np.random.default_rng(3)
    num_users, num_items, num_neg = 50, 40, 20
    positives = rng.integers(0, num_items, size=num_users)
    exclude = [rng.choice(num_items, size=rng.integers(0, 15), replace=False) for _ in range(num_users)]
    neg = M.draw_sampled_negatives(positives, num_items, num_neg, seed=11, exclude=exclude)
    assert neg.shape == (num_users, num_neg)
    assert neg.dtype == np.int64
    for u in range(num_users):
        row = neg[u]
        assert len(np.unique(row)) == num_neg
        assert positives[u] not in row
        assert not np.isin(row, exclude[u]).any()
        assert row.min() >= 0 and row.max() < num_items


def test_negatives_take_all_eligible_items_when_exactly_enough():
    # 10 items, positive 0, excluded 1..5 -> eligible {6, 7, 8, 9}; 4 negatives
    # must be exactly that set.
    neg = M.draw_sampled_negatives([0], 10, 4, seed=0, exclude=[[1, 2, 3, 4, 5]])
    assert sorted(neg[0].tolist()) == [6, 7, 8, 9]


def test_negatives_deterministic_per_seed():
    positives = np.arange(30) % 25
    a = M.draw_sampled_negatives(positives, 100, 10, seed=5)
    b = M.draw_sampled_negatives(positives, 100, 10, seed=5)
    c = M.draw_sampled_negatives(positives, 100, 10, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_uniform_negatives_cover_items_evenly():
    # 2000 users x 5 negatives over 20 items (positive always item 0):
    # each of items 1..19 expects 2000*5/19 ~ 526 draws.
    neg = M.draw_sampled_negatives(np.zeros(2000, np.int64), 20, 5, seed=1)
    counts = np.bincount(neg.ravel(), minlength=20)
    assert counts[0] == 0
    expected = 2000 * 5 / 19
    assert np.all(np.abs(counts[1:] - expected) < 0.2 * expected)


def test_popularity_negatives_follow_popularity():
    # Items 0-4 have zero popularity (never drawn), 5-14 count 1, 15-19 count 50.
    popularity = np.array([0] * 5 + [1] * 10 + [50] * 5)
    positives = np.random.default_rng(0).integers(5, 20, size=2000)
    neg = M.draw_sampled_negatives(
        positives, 20, 3, seed=2, strategy="popularity", popularity=popularity
    )
    counts = np.bincount(neg.ravel(), minlength=20)
    assert counts[:5].sum() == 0
    for u in range(len(positives)):
        assert positives[u] not in neg[u]
        assert len(np.unique(neg[u])) == 3
    # Each popular item carries 50x the weight of an unpopular one; with three
    # draws per user the popular items must dominate by a wide margin.
    assert counts[15:].mean() > 5 * counts[5:15].mean()


def test_popularity_negatives_fallback_when_popular_items_are_excluded():
    # The two popular items (mass 2000/2008) are excluded, leaving items 2..9
    # (weight 1 each) besides positive 2 -> eligible {3..9}, draw all 7.
    popularity = np.array([1000, 1000, 1, 1, 1, 1, 1, 1, 1, 1])
    neg = M.draw_sampled_negatives(
        [2], 10, 7, seed=4, strategy="popularity", popularity=popularity, exclude=[[0, 1]]
    )
    assert sorted(neg[0].tolist()) == [3, 4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"strategy": "pop"},
            "unknown strategy 'pop'; expected one of ('uniform', 'popularity')",
        ),
        ({"strategy": "popularity"}, "popularity is required when strategy='popularity'"),
        (
            {"strategy": "popularity", "popularity": np.ones(3)},
            "popularity must have shape (10,) to match num_items, got (3,)",
        ),
        (
            {"strategy": "popularity", "popularity": -np.ones(10)},
            "popularity must contain finite, non-negative counts",
        ),
        ({"popularity": np.ones(10)}, "popularity is only used with strategy='popularity'"),
        ({"num_negatives": 0}, "num_negatives must be a positive integer, got 0"),
        ({"num_items": 0}, "num_items must be a positive integer, got 0"),
        ({"positives": [10]}, "positives must be item indices in [0, 10)"),
        ({"positives": [[1]]}, "positives must be a 1-D array with one item per user, got shape (1, 1)"),
        ({"positives": []}, "positives must contain at least one user"),
        ({"seed": None}, "seed must be an integer, got None"),
        ({"num_negatives": 9}, "user 0 has 8 eligible items, fewer than num_negatives=9"),
        (
            # Non-zero popularity only for items 0, 1, 2; item 0 is the positive
            # and item 1 is excluded -> only item 2 is eligible.
            {
                "strategy": "popularity",
                "popularity": np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
                "num_negatives": 3,
            },
            "user 0 has 1 eligible items, fewer than num_negatives=3",
        ),
        ({"exclude": [[1], [2]]}, "exclude must have one entry per user: expected 1, got 2"),
    ],
)
def test_negatives_errors(kwargs, message):
    # Base call: one user, positive 0, 10 items, exclude item 1 -> 8 eligible.
    args = {"positives": [0], "num_items": 10, "num_negatives": 2, "seed": 0, "exclude": [[1]]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        M.draw_sampled_negatives(**args)


def test_save_load_round_trip(tmp_path):
    neg = M.draw_sampled_negatives([0, 3, 7], 50, 5, seed=9)
    path = tmp_path / "negatives.npz"
    M.save_negatives(path, neg, seed=9, strategy="uniform")
    loaded, meta = M.load_negatives(path)
    np.testing.assert_array_equal(loaded, neg)
    assert loaded.dtype == np.int64
    assert meta == {"seed": 9, "strategy": "uniform"}


def test_save_load_without_suffix(tmp_path):
    # np.savez appends ".npz"; loading by the same name must still work.
    neg = np.array([[1, 2], [3, 4]])
    path = str(tmp_path / "draw")
    M.save_negatives(path, neg, seed=1, strategy="popularity")
    loaded, meta = M.load_negatives(path)
    np.testing.assert_array_equal(loaded, neg)
    assert meta == {"seed": 1, "strategy": "popularity"}


def test_save_load_errors(tmp_path):
    with pytest.raises(ValueError, match=re.escape("negatives must be a 2-D integer array, got shape (2,)")):
        M.save_negatives(tmp_path / "a.npz", np.array([1, 2]), seed=0, strategy="uniform")
    with pytest.raises(ValueError, match=re.escape("unknown strategy 'x'")):
        M.save_negatives(tmp_path / "a.npz", np.array([[1]]), seed=0, strategy="x")
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(2))
    with pytest.raises(ValueError, match=re.escape("missing ['negatives', 'seed', 'strategy']")):
        M.load_negatives(other)


# --------------------------------------------------------------------------
# sampled_ranking_metrics
# --------------------------------------------------------------------------


def test_sampled_metrics_hand_example():
    # user 0: positive 0.9 vs [0.1, 0.2, 0.3] -> 0 negatives >= 0.9 -> rank 0
    # user 1: positive 0.5 vs [0.6, 0.5, 0.1] -> 0.6 and the tie 0.5 -> rank 2
    # user 2: positive 0.2 vs [0.3, 0.4, 0.5] -> all three -> rank 3
    pos = [0.9, 0.5, 0.2]
    neg = [[0.1, 0.2, 0.3], [0.6, 0.5, 0.1], [0.3, 0.4, 0.5]]
    got = M.sampled_ranking_metrics(pos, neg, ks=(1, 3, 4))
    # hr@1 = [0<1, 2<1, 3<1] = 1/3; hr@3 = [yes, yes, no] = 2/3; hr@4 = 1
    assert got["hr@1"] == pytest.approx(1 / 3)
    assert got["hr@3"] == pytest.approx(2 / 3)
    assert got["hr@4"] == 1.0
    # ndcg@1 = (1/log2(2)) / 3 = 1/3
    # ndcg@3 = (1/log2(2) + 1/log2(4) + 0) / 3 = (1 + 0.5) / 3 = 0.5
    # ndcg@4 = (1 + 0.5 + 1/log2(5)) / 3
    assert got["ndcg@1"] == pytest.approx(1 / 3)
    assert got["ndcg@3"] == pytest.approx(0.5)
    assert got["ndcg@4"] == pytest.approx((1 + 0.5 + 1 / L5) / 3)


def test_sampled_metrics_constant_scorer_gets_no_credit():
    # Every negative ties the positive, so rank = M = 10 >= K for K in (5, 10).
    got = M.sampled_ranking_metrics(np.full(4, 0.5), np.full((4, 10), 0.5), ks=(5, 10))
    assert got == {"hr@5": 0.0, "hr@10": 0.0, "ndcg@5": 0.0, "ndcg@10": 0.0}


@pytest.mark.parametrize(
    ("pos", "neg", "message"),
    [
        ([0.1, 0.2], [[0.1]], "negative_scores must have one row per positive: expected 2 rows, got 1"),
        ([], np.zeros((0, 3)), "positive_scores must contain at least one user"),
        ([0.1], np.zeros((1, 0)), "negative_scores must have at least one negative per user"),
        ([[0.1]], [[0.1]], "positive_scores must be a 1-D array, got shape (1, 1)"),
        ([0.1], [0.1], "negative_scores must be a 2-D array, got shape (1,)"),
        ([np.nan], [[0.1]], "positive_scores must not contain NaN"),
    ],
)
def test_sampled_metrics_errors(pos, neg, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        M.sampled_ranking_metrics(pos, neg, ks=(1,))


# --------------------------------------------------------------------------
# AUC and logloss
# --------------------------------------------------------------------------


def test_auc_hand_example_with_ties():
    # Positives score 0.8 and 0.3; negatives score 0.8 and 0.1.
    # Pairs (pos, neg): (0.8, 0.8) tie -> 0.5, (0.8, 0.1) -> 1,
    #                   (0.3, 0.8) -> 0,       (0.3, 0.1) -> 1.
    # AUC = (0.5 + 1 + 0 + 1) / 4 = 0.625.
    # Via average ranks: 0.1 -> 1, 0.3 -> 2, 0.8, 0.8 -> 3.5 each;
    # positive rank sum 3.5 + 2 = 5.5; U = 5.5 - 2*3/2 = 2.5; 2.5 / (2*2) = 0.625.
    assert M.auc([1, 0, 1, 0], [0.8, 0.8, 0.3, 0.1]) == pytest.approx(0.625)


def test_auc_extremes():
    assert M.auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert M.auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]) == 0.0
    assert M.auc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]) == 0.5


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, size=300)
    scores = rng.integers(0, 10, size=300) / 10.0  # many ties
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    expected = ((diff > 0) + 0.5 * (diff == 0)).mean()
    assert M.auc(ArrayLike(labels), ArrayLike(scores)) == pytest.approx(expected)


def test_auc_single_class_message():
    with pytest.raises(ValueError, match=r"^auc requires both classes in labels, got only class 1$"):
        M.auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"^auc requires both classes in labels, got only class 0$"):
        M.auc([0, 0], [0.1, 0.2])


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([], [], "scores must be non-empty"),
        ([1, 0], [0.1, 0.2, 0.3], "labels and scores must have the same length, got 2 and 3"),
        ([1, 2], [0.1, 0.2], "labels must contain only 0 and 1"),
        ([1, 0], [0.1, np.nan], "scores must not contain NaN"),
    ],
)
def test_auc_errors(labels, scores, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        M.auc(labels, scores)


def test_logloss_hand_value():
    # -(log 0.8 + log(1 - 0.4)) / 2 = (0.2231436 + 0.5108256) / 2 = 0.3669846
    assert M.logloss([1, 0], [0.8, 0.4]) == pytest.approx(0.3669846, abs=1e-7)


def test_logloss_clipping():
    # p = 0 for a positive is clipped to eps = 1e-7: -log(1e-7) = 16.1180957
    assert M.logloss([1], [0.0]) == pytest.approx(-math.log(1e-7))
    assert M.logloss([1], [0.0]) == pytest.approx(16.1180957, abs=1e-6)
    # p = 1 for a positive is clipped to 1 - eps: -log(1 - 1e-7) ~ 1e-7
    assert M.logloss([1], [1.0]) == pytest.approx(1e-7, rel=1e-3)
    # A larger eps gives -log(0.01) for p = 0 and label 1.
    assert M.logloss([1], [0.0], eps=0.01) == pytest.approx(-math.log(0.01))


@pytest.mark.parametrize(
    ("labels", "probs", "kwargs", "message"),
    [
        ([1], [1.2], {}, "probabilities must lie in [0, 1]"),
        ([1], [-0.1], {}, "probabilities must lie in [0, 1]"),
        ([1, 0], [0.5], {}, "labels and probabilities must have the same length, got 2 and 1"),
        ([], [], {}, "probabilities must be non-empty"),
        ([2], [0.5], {}, "labels must lie in [0, 1]"),
        ([1], [0.5], {"eps": 0.0}, "eps must be in (0, 0.5), got 0.0"),
    ],
)
def test_logloss_errors(labels, probs, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        M.logloss(labels, probs, **kwargs)
