"""Click-translation evaluation on tiny tables, scored by hand.

A popularity model with hand-set counts gives a known ranking, so the metrics
of each held-out user can be worked out on paper: the catalogue comes from
training rows only, and an item listed in two domains is not recommended back.
"""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfxdr.data import Interactions
from tfxdr.export import save_module
from tfxdr.models import MODELS, PopConfig
from tfxdr.tasks import ClickTranslationTask

DOMAINS = ("A", "B")


def _prepared(rows, ks):
    """(task, data) of ``(user, item, domain, split)`` rows, split as given."""
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "split"])
    interactions = Interactions(frame.drop(columns="split"), DOMAINS, None, None, "toy")
    task = ClickTranslationTask(ks=ks)
    spec = task.feature_spec(interactions, frame, None)
    return task, task.prepare(frame, spec, None)


def _pop(data, counts):
    """A popularity model whose counts are set by hand (vocabulary order)."""
    model = MODELS.get("pop").create(PopConfig(), data.spec)
    for variable, values in zip(model.counts, counts):
        variable.assign(np.asarray(values, np.float32))
    return model


def test_an_item_only_held_out_users_clicked_is_relevant_but_never_ranked():
    rows = [("t1", "a1", "A", "train"), ("t1", "b1", "B", "train"), ("t1", "b2", "B", "train"),
            ("t2", "a2", "A", "train"), ("t2", "b2", "B", "train"),
            # x is held out; b3 was clicked by x alone.
            ("x", "a1", "A", "test"), ("x", "b2", "B", "test"), ("x", "b3", "B", "test")]
    task, data = _prepared(rows, ks=(1, 2, 3))
    assert data.spec["items_B"].vocabulary == ("b1", "b2")
    assert data.spec["items_A"].vocabulary == ("a1", "a2")
    model = _pop(data, [[1, 3], [5, 1]])  # A ranks a2, a1; B ranks b1, b2
    metrics = task.evaluate(model, data, "test")
    # A->B: relevant {b2, b3}; ranked b1, b2 (b3 is not in the catalogue).
    assert metrics["A->B"]["recall@1"] == 0.0
    assert metrics["A->B"]["recall@2"] == 0.5
    assert metrics["A->B"]["recall@3"] == 0.5  # b3 is never hit, however deep the list
    assert metrics["A->B"]["hr@2"] == 1.0
    # NDCG@2: one hit at rank 2 against an ideal of two hits.
    ideal = 1.0 + 1.0 / np.log2(3.0)
    assert metrics["A->B"]["ndcg@2"] == pytest.approx((1.0 / np.log2(3.0)) / ideal, abs=1e-12)
    # B->A: relevant {a1}; ranked a2, a1.
    assert metrics["B->A"]["recall@1"] == 0.0
    assert metrics["B->A"]["recall@2"] == 1.0


def test_an_item_listed_in_both_domains_is_not_ranked_back_offline_or_served(tmp_path):
    # Item "c" is sold in both domains.  x clicked it in A; y did not.
    rows = [("t1", "c", "A", "train"), ("t1", "a1", "A", "train"),
            ("t1", "c", "B", "train"), ("t1", "b1", "B", "train"), ("t1", "b2", "B", "train"),
            ("x", "c", "A", "test"), ("x", "b1", "B", "test"),
            ("y", "a1", "A", "test"), ("y", "c", "B", "test")]
    task, data = _prepared(rows, ks=(1, 2))
    assert data.spec["items_B"].vocabulary == ("b1", "b2", "c")
    model = _pop(data, [[1, 3], [5, 1, 9]])  # A ranks c, a1; B ranks c, b1, b2
    metrics = task.evaluate(model, data, "test")
    # x: c is excluded, so b1 comes first (1 hit); y: c stays first (1 hit).  Ranking c
    # for x would give 0.5; excluding it for everyone would give 0.5 too.
    assert metrics["A->B"]["recall@1"] == 1.0
    # B->A: x's B click b1 is not an A item, so c stays first and is x's hit; y clicked
    # c in B, so c is excluded and a1, y's relevant item, comes first.
    assert metrics["B->A"]["recall@1"] == 1.0

    module, signatures = task.serving_module(model, data)
    served = tf.saved_model.load(str(save_module(module, signatures, tmp_path)))
    out = served.signatures["A_to_B"](item_ids=tf.constant([["c"], ["a1"]]))
    # The served ranking is the offline one: c is dropped only for the user who holds it.
    np.testing.assert_array_equal(out["scores"].numpy(), [[5, 1, -np.inf], [5, 1, 9]])
    np.testing.assert_array_equal(out["top_k_ids"].numpy(), [[b"b1", b"b2", b"c"],
                                                            [b"c", b"b1", b"b2"]])
    back = served.signatures["B_to_A"](item_ids=tf.constant([["b1"], ["c"]]))
    np.testing.assert_array_equal(back["top_k_ids"].numpy()[:, 0], [b"c", b"a1"])


def test_a_target_item_the_request_holds_is_not_ranked_back_even_if_unknown_in_the_source(
        tmp_path):
    # "c" is a catalogued B item; in A only the held-out x clicked it.
    rows = [("t1", "a1", "A", "train"), ("t1", "c", "B", "train"), ("t1", "b1", "B", "train"),
            ("x", "c", "A", "test"), ("x", "b1", "B", "test")]
    task, data = _prepared(rows, ks=(1,))
    assert data.spec["items_A"].vocabulary == ("a1",)
    model = _pop(data, [[1], [1, 9]])  # B ranks c, b1
    module, signatures = task.serving_module(model, data)
    served = tf.saved_model.load(str(save_module(module, signatures, tmp_path)))
    out = served.signatures["A_to_B"](item_ids=tf.constant([["c"]]))
    assert out["top_k_ids"].numpy()[0, 0] == b"b1"
    assert task.evaluate(model, data, "test")["A->B"]["recall@1"] == 1.0


def test_an_item_clicked_in_both_domains_is_neither_ranked_nor_relevant():
    """A user who clicked c in A and in B has c already: it is not ranked back, and it
    is not a relevant item to predict either."""
    rows = [("t1", "a1", "A", "train"), ("t1", "c", "B", "train"), ("t1", "b1", "B", "train"),
            ("t1", "b2", "B", "train"),
            ("x", "c", "A", "test"), ("x", "c", "B", "test"), ("x", "b2", "B", "test")]
    task, data = _prepared(rows, ks=(1, 2))
    model = _pop(data, [[1], [5, 1, 9]])  # B ranks c, b1, b2
    metrics = task.evaluate(model, data, "test")
    # A->B: c excluded, so the ranking is b1, b2; relevant is {b2} alone.
    assert metrics["A->B"]["recall@1"] == 0.0
    assert metrics["A->B"]["recall@2"] == 1.0
