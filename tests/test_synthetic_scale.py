"""The catalogue-scale synthetic pair: its shape, its popularity law and its planted
groups, counted."""

import numpy as np
import pandas as pd

from tfxdr.data.synthetic import catalogue_scale


def _items(frame: pd.DataFrame) -> np.ndarray:
    return frame["item_id"].str[1:].astype(int).to_numpy()


def test_the_same_seed_gives_the_same_frame_and_each_click_once():
    first, second = catalogue_scale(500, (2_000, 3_000), seed=3), catalogue_scale(
        500, (2_000, 3_000), seed=3)
    pd.testing.assert_frame_equal(first, second)
    assert not first.duplicated(["user_id", "domain", "item_id"]).any()
    assert first.groupby("user_id")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    assert set(first["domain"]) == {"books", "movies"}
    books = first[first["domain"] == "books"]
    assert _items(books).max() < 2_000 and books["item_id"].str.startswith("b").all()


def test_popularity_follows_the_power_law():
    # One group, no noise: every click is a draw with p(i) ~ rank(i)^-1. The 10 most
    # popular of 1,000 items hold H(10) / H(1000) = 2.929 / 7.485 = 0.391 of the draws.
    frame = catalogue_scale(4_000, (1_000,), clicks_per_domain=1.0, popularity_exponent=1.0,
                            num_groups=1, noise=0.0, domains=("books",), seed=0)
    assert len(frame) == 4_000  # one click per user: nothing merged
    shares = frame["item_id"].value_counts(normalize=True).to_numpy()
    assert abs(shares[:10].sum() - 0.391) < 0.02


def test_a_users_clicks_come_from_its_groups_block_but_for_the_noise():
    # 4 groups over 1,000 items: blocks of 250. A click is from the block with
    # probability 0.7 + 0.3 x (the block's share of the popularity, 1/4 on average).
    frame = catalogue_scale(2_000, (1_000, 1_000), num_groups=4, noise=0.3,
                            popularity_exponent=0.0, seed=1)
    groups = frame["user_id"].str[1:].astype(int).to_numpy() % 4
    in_block = _items(frame) // 250 == groups
    assert abs(in_block.mean() - (0.7 + 0.3 / 4)) < 0.02
    # About 10 clicks per user and domain: 1 + Poisson(9), a few repeats merged.
    per_user = frame.groupby(["user_id", "domain"]).size()
    assert 9.0 < per_user.mean() < 10.0


def test_noise_rating_marks_the_clicks_drawn_outside_the_block():
    # A CTR label with planted signal: rated 5 = drawn from the user's block (70%);
    # rated 1 = drawn from the whole domain, in the block by chance 1/4 of the time.
    frame = catalogue_scale(2_000, (1_000, 1_000), num_groups=4, noise=0.3,
                            popularity_exponent=0.0, seed=1, noise_rating=1.0)
    groups = frame["user_id"].str[1:].astype(int).to_numpy() % 4
    in_block = _items(frame) // 250 == groups
    planted = frame["rating"].to_numpy() == 5.0
    assert set(frame["rating"]) == {1.0, 5.0}
    assert in_block[planted].all()
    assert abs(in_block[~planted].mean() - 0.25) < 0.03
    assert abs(planted.mean() - 0.7) < 0.02
    # the same draws as without ratings
    pd.testing.assert_frame_equal(frame.drop(columns="rating"), catalogue_scale(
        2_000, (1_000, 1_000), num_groups=4, noise=0.3, popularity_exponent=0.0,
        seed=1).drop(columns="rating"))


def test_scale_benchmark_group_popularity_recall_by_hand():
    """Users u0, u20 (group 0) and u1 (group 1) train; u40 (group 0) and u21 (group 1)
    are tested with k = 1.  Group 0's top book is b1 (two clicks), group 1's b2;
    u40 clicked b1 and b3 (1/2), u21 b2 (1/1): books 0.75.  Movies: group 0's top
    is m1, group 1 has no training movie: u40 clicked m1 (1), u21 m1 (0): 0.5."""
    from scripts import load_benchmark

    scale = load_benchmark("scale")
    rows = [("u0", "b1", "books", "train"), ("u20", "b1", "books", "train"),
            ("u20", "b3", "books", "train"), ("u1", "b2", "books", "train"),
            ("u0", "m1", "movies", "train"),
            ("u40", "b1", "books", "test"), ("u40", "b3", "books", "test"),
            ("u21", "b2", "books", "test"), ("u40", "m1", "movies", "test"),
            ("u21", "m1", "movies", "test")]
    split = pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "split"])
    assert scale.group_popularity_recall(split, k=1) == (0.75 + 0.5) / 2
