"""SavedModel export of a next-item model: one signature per domain and the user
representation, raw ids in and out, equal to the Keras model."""

import re

import numpy as np
import pytest
import tensorflow as tf

from tfxdr import experiment
from tfxdr.cli import main
from tfxdr.data.synthetic import planted_sequences

FAST = ["--epochs", "3", "--quiet", "--set", "max_len=6", "--set", "dim=8", "--set",
        "num_layers=1", "--set", "num_heads=1", "--set", "ffn_dim=8", "--set", "top_k=5",
        "--set", "pretrain_epochs=1", "--set", "adversarial_epochs=1", "--set", "batch_size=64"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A recguru run on integer item ids, exported."""
    root = tmp_path_factory.mktemp("export")
    frame = planted_sequences(num_users=120, seed=4)
    frame["item_id"] = frame["item_id"].str[1:].astype(int) + np.where(
        frame["domain"] == "books", 1000, 2000)
    csv = root / "sequences.csv"
    frame.to_csv(csv, index=False)
    run = root / "run"
    assert main(["train", "recguru", "--dataset", str(csv), "--domains", "books,movies",
                 "--out", str(run), *FAST]) == 0
    assert main(["export", str(run)]) == 0
    return run, run / "export" / "1"


def test_signatures_per_domain_and_the_user_representation(exported):
    _, path = exported
    served = tf.saved_model.load(str(path))
    assert sorted(served.signatures) == ["next_item_books", "next_item_movies",
                                         "serving_default", "user_representation"]
    (spec,) = served.signatures["next_item_books"].structured_input_signature[1].values()
    assert spec.dtype == tf.int64 and spec.name == "item_ids"
    outputs = served.signatures["next_item_books"].structured_outputs
    assert {k: v.dtype for k, v in outputs.items()} == {"top_k_ids": tf.int64,
                                                        "top_k_scores": tf.float32}


def test_warmup_requests_are_each_domains_validation_users_and_replay(exported):
    from tfxdr.export.warmup import WARMUP_FILE, read_warmup, replay_warmup

    run_dir, path = exported
    requests = read_warmup(path / "assets.extra" / WARMUP_FILE)
    assert [(name, len(inputs["item_ids"])) for name, inputs in requests] == [
        (name, size) for name in ("next_item_books", "next_item_movies", "user_representation",
                                  "serving_default") for size in (1, 8)]
    held = experiment.load_run(run_dir).prepared.held_out["val"]["movies"]
    np.testing.assert_array_equal(requests[3][1]["item_ids"], [
        [int(i) if i else -1 for i in row] for row in held.histories["movies"][:8]])
    assert list(requests[5][1]["domain"]) == [b"books"] * 8
    assert replay_warmup(path) == 8


def test_reloaded_model_equals_keras_and_never_returns_the_requests_items(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    served = tf.saved_model.load(str(path))
    books = [int(i) for i in run.spec["items_books"].vocabulary]
    # Padding anywhere, an unknown id (999999): the model reads the last known ids in order.
    request = tf.constant([[-1, books[1], books[2], -1, books[3]],
                           [books[5], 999999, -1, -1, -1]], tf.int64)
    out = served.signatures["next_item_books"](item_ids=request)
    as_text = tf.constant([["", "", "", "", str(books[1]), str(books[2]), str(books[3])],
                           ["", "", "", "", "", str(books[5]), "999999"]])
    expected = np.array(run.model.score_next({"items_books": as_text}, 0))
    expected[0, [1, 2, 3]] = -np.inf  # the request's own items
    expected[1, 5] = -np.inf
    top = np.argsort(-expected, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(out["top_k_ids"].numpy(), np.asarray(books)[top])
    np.testing.assert_allclose(out["top_k_scores"].numpy(),
                               np.take_along_axis(expected, top, 1), atol=1e-5)


def test_user_representation_of_either_domain(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    served = tf.saved_model.load(str(path))
    books = [int(i) for i in run.spec["items_books"].vocabulary]
    movies = [int(i) for i in run.spec["items_movies"].vocabulary]
    request = tf.constant([[books[0], books[1]], [movies[2], movies[3]]], tf.int64)
    out = served.signatures["user_representation"](
        item_ids=request, domain=tf.constant(["books", "movies"]))["representation"].numpy()
    for row, (name, k) in enumerate((("items_books", 0), ("items_movies", 1))):
        text = tf.constant([[str(i) for i in request.numpy()[row]]])
        np.testing.assert_allclose(out[row], np.asarray(run.model.user_representation(
            {name: text}, k))[0], atol=1e-5)


def test_bad_requests_name_the_input(exported):
    _, path = exported
    served = tf.saved_model.load(str(path))
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(
            "Shape of tensor item_ids [2] is not compatible with expected shape [?,?]")):
        served.signatures["next_item_movies"](item_ids=tf.constant([1, 2], tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="domain: unknown domain name; expected one of books, movies"):
        served.signatures["user_representation"](item_ids=tf.constant([[1]], tf.int64),
                                                 domain=tf.constant(["games"]))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="domain: expected one row per row of item_ids"):
        served.signatures["user_representation"](item_ids=tf.constant([[1]], tf.int64),
                                                 domain=tf.constant(["books", "books"]))


def test_exclude_positions_sets_each_rows_own_positions_to_minus_inf():
    from tfxdr.ops import exclude_positions

    scores = tf.reshape(tf.range(12, dtype=tf.float32), (3, 4))
    positions = tf.constant([[2, 0, 2], [-1, -1, -1], [-2, 3, -1]], tf.int64)  # repeats, none
    want = np.arange(12, dtype=np.float32).reshape(3, 4)
    want[0, [0, 2]] = want[2, 3] = -np.inf
    np.testing.assert_array_equal(exclude_positions(scores, positions).numpy(), want)


def test_items_older_than_the_ones_read_are_still_never_returned(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    served = tf.saved_model.load(str(path))
    books = [int(i) for i in run.spec["items_books"].vocabulary]
    request = tf.constant([books[:8]], tf.int64)  # 8 items; the model reads the last 6
    out = served.signatures["next_item_books"](item_ids=request)
    expected = np.array(run.model.score_next(
        {"items_books": tf.constant([[str(i) for i in books[2:8]]])}, 0))
    expected[0, :8] = -np.inf
    top = np.argsort(-expected, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(out["top_k_ids"].numpy(), np.asarray(books)[top])


def test_recommend_from_the_run_is_the_models_own_ranking(exported, tmp_path):
    import pandas as pd

    from tfxdr.data.splits import load_split

    run_dir, _ = exported
    run = experiment.load_run(run_dir)
    users = sorted(run.prepared.held_out["test"]["books"].users.astype(str))[:20]
    pd.DataFrame({"user_id": users}).to_csv(tmp_path / "users.csv", index=False)
    out = tmp_path / "recs.parquet"
    assert main(["recommend", str(run_dir), "--users", str(tmp_path / "users.csv"), "--k", "7",
                 "--domains", "books", "--out", str(out), "--quiet"]) == 0
    recs = pd.read_parquet(out)
    frame, _ = load_split(run_dir)
    frame = frame[frame["domain"] == "books"].sort_values("timestamp", kind="stable")
    vocabulary = [str(i) for i in run.spec["items_books"].vocabulary]
    for user in users:
        clicked = [str(i) for i in frame[frame["user_id"] == user]["item_id"]]
        recent = clicked[-run.config.max_len:]
        scores = np.array(run.model.score_next({"items_books": tf.constant(
            [[""] * (run.config.max_len - len(recent)) + recent])}, 0))[0]
        scores[[vocabulary.index(i) for i in set(clicked) if i in vocabulary]] = -np.inf
        top = np.argsort(-scores, kind="stable")[:7]
        mine = recs[recs["user_id"] == user]
        assert mine["item_id"].tolist() == [vocabulary[i] for i in top]
        np.testing.assert_allclose(mine["score"], scores[top], atol=1e-5)


def test_contract_and_one_request_alike_through_the_savedmodel_grpc_and_rest(exported,
                                                                            tmp_path):
    """(Keras equals the SavedModel above.)"""
    from serving_paths import assert_contract, assert_served_alike

    from tfxdr.export.warmup import WARMUP_FILE, read_warmup

    _, path = exported
    assert_contract(path, "sequences")
    for signature, inputs in read_warmup(path / "assets.extra" / WARMUP_FILE)[3:6:2]:
        assert_served_alike(path, tmp_path / signature, signature, inputs)
