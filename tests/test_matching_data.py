"""Matching examples by hand: the training cut and the held-out clicks."""

import numpy as np
import pandas as pd

from tfxdr.data import cut_examples, held_out_clicks
from tfxdr.data.splits import chronological

DOMAINS = ("A", "B")


def _frame():
    # By time: u1 a3 b2 a1 b1 a2 a4 a5; u2 b1 b2 b3 a2; u3 b3. Rows out of order.
    rows = [("u1", "a4", "A", 40), ("u1", "a3", "A", 10), ("u1", "a5", "A", 50),
            ("u1", "a1", "A", 20), ("u1", "a2", "A", 30), ("u1", "b1", "B", 25),
            ("u1", "b2", "B", 15),
            ("u2", "b3", "B", 3), ("u2", "a2", "A", 5), ("u2", "b1", "B", 1), ("u2", "b2", "B", 2),
            ("u3", "b3", "B", 7)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp"])


def test_a_cut_splits_each_users_clicks_of_every_domain_at_one_time():
    # Seed 1 cuts u1 after 3 clicks (a3 b2 a1 | b1 a2 a4 a5) and u2 after 2 (b1 b2 | b3 a2).
    examples = cut_examples(_frame(), DOMAINS, length=3, num_positives=2, seed=1)
    np.testing.assert_array_equal(examples.users, ["u1", "u2"])  # u3's one click: no example
    np.testing.assert_array_equal(examples.inputs["A"], [["", "a3", "a1"], ["", "", ""]])
    np.testing.assert_array_equal(examples.inputs["B"], [["", "", "b2"], ["", "b1", "b2"]])
    np.testing.assert_array_equal(examples.positives["A"], [["a2", "a4"], ["a2", ""]])
    np.testing.assert_array_equal(examples.positives["B"], [["b1", ""], ["b3", ""]])
    # Every training click, before the cut or after it (a5 is neither input nor positive),
    # in time order, as wide as the most clicks of a user: none may be a negative.
    np.testing.assert_array_equal(examples.clicked["A"], [["a3", "a1", "a2", "a4", "a5"],
                                                          ["a2", "", "", "", ""]])
    np.testing.assert_array_equal(examples.clicked["B"], [["b2", "b1", ""], ["b1", "b2", "b3"]])


def test_every_cut_leaves_a_click_on_each_side_and_the_seed_fixes_it():
    frame = _frame()
    time = dict(zip(zip(frame["user_id"], frame["item_id"]), frame["timestamp"]))
    cuts = set()
    for seed in range(30):
        examples = cut_examples(frame, DOMAINS, length=10, num_positives=10, seed=seed)
        for row, user in enumerate(examples.users):
            before = [time[user, i] for d in DOMAINS for i in examples.inputs[d][row] if i]
            after = [time[user, i] for d in DOMAINS for i in examples.positives[d][row] if i]
            assert before and after and max(before) < min(after)
            if user == "u2":
                cuts.add(len(before))
        again = cut_examples(frame, DOMAINS, length=10, num_positives=10, seed=seed)
        np.testing.assert_array_equal(again.positives["A"], examples.positives["A"])
    assert cuts == {1, 2, 3}  # every cut of u2's four clicks


def test_held_out_clicks_are_a_parts_clicks_against_the_parts_before_it():
    # Shares 0.5/0.25/0.25: u1 trains on a3 b2 a1 b1, validates a2, tests a4 a5;
    # u2 trains on b1 b2, validates b3, tests a2; u3's one click trains.
    split = chronological(_frame(), (0.5, 0.25, 0.25))
    test_a = held_out_clicks(split, DOMAINS, "A", "test", 3)
    np.testing.assert_array_equal(test_a.users, ["u1", "u2"])
    assert [list(t) for t in test_a.targets] == [["a4", "a5"], ["a2"]]
    np.testing.assert_array_equal(test_a.histories["A"], [["a3", "a1", "a2"], ["", "", ""]])
    np.testing.assert_array_equal(test_a.histories["B"], [["", "b2", "b1"], ["b1", "b2", "b3"]])
    assert [sorted(s) for s in test_a.seen] == [["a1", "a2", "a3"], []]
    val_b = held_out_clicks(split, DOMAINS, "B", "val", 3)
    np.testing.assert_array_equal(val_b.users, ["u2"])
    assert [list(t) for t in val_b.targets] == [["b3"]]
    np.testing.assert_array_equal(val_b.histories["B"], [["", "b1", "b2"]])
