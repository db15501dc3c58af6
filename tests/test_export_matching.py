"""SavedModel export of a matching model: retrieval and user vectors per domain from the
items of every domain, equal to the Keras model, the generator left out."""

import re

import numpy as np
import pytest
import tensorflow as tf

from tfxdr import experiment
from tfxdr.errors import RunDirError
from tfxdr.cli import main
from tfxdr.data.synthetic import planted_matching

DOMAINS = ("books", "games", "music")
FAST = ["--epochs", "2", "--quiet", "--split-fractions", "0.5,0.25,0.25", "--set", "max_len=6",
        "--set", "dim=8", "--set", "g_layers=1", "--set", "g_heads=2", "--set", "d_heads=2",
        "--set", "ffn_dim=8", "--set", "conve_rows=2", "--set", "top_k=5", "--set",
        "batch_size=32"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An aft run on integer item ids, exported."""
    root = tmp_path_factory.mktemp("export")
    frame = planted_matching(num_users=60, domains=DOMAINS, block=10, clicks=6, seed=2)
    frame["item_id"] = frame["item_id"].str[1:].astype(int) + frame["domain"].map(
        {"books": 1000, "games": 2000, "music": 3000})
    csv = root / "clicks.csv"
    frame.to_csv(csv, index=False)
    run = root / "run"
    assert main(["train", "aft", "--dataset", str(csv), "--domains", ",".join(DOMAINS),
                 "--out", str(run), *FAST]) == 0
    assert main(["export", str(run)]) == 0
    return run, run / "export" / "1"


def _text(rows):
    """The ids as the model reads them: strings, the last ones known, "" for padding."""
    return tf.constant([["" if i is None else str(i) for i in row] for row in rows])


def _ids(run, domain):
    return [int(i) for i in run.spec[f"items_{domain}"].vocabulary]


def test_retrieval_and_user_vectors_per_domain_read_every_domain(exported):
    _, path = exported
    served = tf.saved_model.load(str(path))
    assert sorted(served.signatures) == ["retrieve_books", "retrieve_games", "retrieve_music",
                                         "serving_default", "user_embedding_books",
                                         "user_embedding_games", "user_embedding_music"]
    inputs = served.signatures["retrieve_games"].structured_input_signature[1]
    assert {name: spec.dtype for name, spec in inputs.items()} == {
        f"items_{d}": tf.int64 for d in DOMAINS}
    # Only the discriminator serves: no generator weight is in the SavedModel.
    names = [v.name.split("/", 1)[1] for v in served.serving_variables]  # the model's name out
    assert "specific/projection/kernel:0" in names and "items_1/embeddings:0" in names
    assert not [name for name in names if name.startswith("g_")]


def test_reloaded_retrieval_equals_keras_and_leaves_the_requests_items_out(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    served = tf.saved_model.load(str(path))
    books, games, music = (_ids(run, d) for d in DOMAINS)
    # Padding anywhere and an unknown id (999999); a user with no music.
    request = {"items_books": tf.constant([[-1, books[1], -1, books[2]],
                                           [books[5], 999999, -1, -1]], tf.int64),
               "items_games": tf.constant([[games[0], games[3], -1, -1],
                                           [-1, -1, -1, games[4]]], tf.int64),
               "items_music": tf.constant([[music[2], -1, -1, -1], [-1, -1, -1, -1]], tf.int64)}
    out = served.signatures["retrieve_games"](**request)
    as_text = {name: _text(rows) for name, rows in (
        ("items_books", [[None, books[1], books[2]], [None, books[5], 999999]]),
        ("items_games", [[None, games[0], games[3]], [None, None, games[4]]]),
        ("items_music", [[None, None, music[2]], [None, None, None]]))}
    expected = np.array(run.model.score_next(as_text, 1))
    expected[0, [0, 3]] = -np.inf  # the request's own games
    expected[1, 4] = -np.inf
    top = np.argsort(-expected, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(out["top_k_ids"].numpy(), np.asarray(games)[top])
    np.testing.assert_allclose(out["top_k_scores"].numpy(),
                               np.take_along_axis(expected, top, 1), atol=1e-5)
    vectors = served.signatures["user_embedding_games"](**request)["embedding"].numpy()
    np.testing.assert_allclose(vectors, np.asarray(run.model.user_vector(as_text, 1)),
                               atol=1e-5)


def test_bad_requests_name_the_input(exported):
    _, path = exported
    served = tf.saved_model.load(str(path))
    good = {f"items_{d}": tf.constant([[1, 2]], tf.int64) for d in DOMAINS}
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(
            "Shape of tensor items_games [2] is not compatible with expected shape [?,?]")):
        served.signatures["retrieve_books"](**{**good, "items_games": tf.constant([1, 2],
                                                                                   tf.int64)})
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="items_music: expected one row per row of items_books"):
        served.signatures["retrieve_books"](**{**good, "items_music": tf.constant(
            [[1], [2]], tf.int64)})
    with pytest.raises(TypeError, match="items_games"):
        served.signatures["retrieve_books"](items_books=good["items_books"],
                                            items_music=good["items_music"])


def test_user_vectors_and_a_faiss_index_of_the_exported_items_retrieve_as_the_graph(exported):
    pytest.importorskip("faiss")
    from scripts import load_benchmark

    run_dir, path = exported
    rows = load_benchmark("retrieval_agreement").agreement(run_dir, path, "test", k=5)
    assert [(domain, kind) for domain, kind, *_ in rows] == [
        (d, kind) for d in DOMAINS for kind in ("flat", "hnsw", "ivf")]
    held_out = experiment.load_run(run_dir).prepared.held_out["test"]
    for domain, kind, users, mean, lowest in rows:
        assert users == len(held_out[domain])
        # Held-out users, their own items excluded on both sides: the exact index
        # returns the graph's top 5 for every user, HNSW for at least 95% of them.
        if kind == "flat":
            assert mean == lowest == 1.0, domain
        elif kind == "hnsw":
            assert mean >= 0.95, (domain, mean)


def test_aft_fakes_counts_later_clicks_among_each_kind_of_negative(exported):
    from scripts import load_benchmark

    run_dir, _ = exported
    run = experiment.load_run(run_dir)
    shares = load_benchmark("aft_fakes").later_click_shares(run, "test")
    k, data = run.model.config.num_fakes, run.prepared
    for t, domain in enumerate(DOMAINS):
        held = data.scoring_set("test", domain)
        later = [set(targets[targets >= 0].tolist()) - set(seen.tolist())
                 for targets, seen in zip(held.targets, held.seen_positions)]
        size = run.model.item_matrix(t).shape[0]
        # k uniform draws among the unclicked items: |later| / |unclicked| of them hit.
        expected = np.mean([len(s) / (size - len(set(seen.tolist())))
                            for s, seen in zip(later, held.seen_positions)])
        assert shares[domain]["users"] == len(held.users)
        np.testing.assert_allclose(shares[domain]["random"], expected, rtol=1e-9)
        # The discriminator's top k is what the model retrieves: its share is precision@k.
        scores = np.array(run.model.next_item_scorer(t)(held.requests(held.order)))
        hits = []
        for row, i in zip(scores, held.order):
            row[held.seen_positions[i][held.seen_positions[i] >= 0]] = -np.inf
            hits.append(len(later[i] & set(np.argsort(-row, kind="stable")[:k].tolist())) / k)
        np.testing.assert_allclose(shares[domain]["discriminator"], np.mean(hits), atol=1e-9)
        assert 0.0 <= shares[domain]["overlap"] <= 1.0


def test_the_warmup_file_holds_validation_requests_of_every_signature_and_replays(exported,
                                                                                  tmp_path):
    from tfxdr.export import save_module
    from tfxdr.export.warmup import WARMUP_FILE, read_warmup, replay_warmup, write_warmup

    run_dir, path = exported
    requests = read_warmup(path / "assets.extra" / WARMUP_FILE)
    served = tf.saved_model.load(str(path))
    # Every signature, with one validation user and with eight, typed as it takes them.
    assert sorted({name for name, _ in requests}) == sorted(served.signatures)
    assert [len(inputs["items_books"]) for _, inputs in requests[:2]] == [1, 8]
    run = experiment.load_run(run_dir)
    first = next(d for d in DOMAINS if len(run.prepared.held_out["val"][d]))
    histories = run.prepared.held_out["val"][first].histories
    np.testing.assert_array_equal(
        requests[1][1]["items_music"],
        [[int(i) if i else -1 for i in row] for row in histories["music"][:8]])
    assert replay_warmup(path) == len(requests) == 2 * len(served.signatures)
    # A record TF Serving would fail on keeps the version from being published.
    module, signatures = run.task.serving_module(run.model, run.prepared)
    bad = [("retrieve_books", {**requests[0][1], "items_books": np.array([1], np.int64)})]
    with pytest.raises(RunDirError, match=re.escape(
            f"{tmp_path / 'base' / '1' / 'assets.extra' / WARMUP_FILE}: record 1 "
            "(retrieve_books) fails: Shape of tensor items_books [1] is not compatible")):
        save_module(module, signatures, tmp_path / "base", warmup=bad)
    assert list((tmp_path / "base").iterdir()) == []
    write_warmup(tmp_path / "w", [("nope", requests[0][1])])
    assert read_warmup(tmp_path / "w")[0][0] == "nope"


def _expected_top(run, run_dir, users, domain, k):
    """The Keras model's top k of ``domain`` for ``users`` on every click of the run's
    split (the last max_len of each domain read), all of the user's clicks left out."""
    from tfxdr.data.splits import load_split

    frame, _ = load_split(run_dir)
    frame = frame.sort_values("timestamp", kind="stable")
    width = run.config.max_len
    rows = {d: [] for d in DOMAINS}
    for user in users:
        for d in DOMAINS:
            ids = frame[(frame["user_id"] == user) & (frame["domain"] == d)]["item_id"]
            recent = [str(i) for i in ids][-width:]
            rows[d].append([""] * (width - len(recent)) + recent)
    scores = np.array(run.model.score_next({f"items_{d}": tf.constant(r) for d, r in rows.items()},
                                           DOMAINS.index(domain)))
    vocabulary = [str(i) for i in run.spec[f"items_{domain}"].vocabulary]
    for number, user in enumerate(users):
        clicked = set(frame[(frame["user_id"] == user) & (frame["domain"] == domain)]["item_id"]
                      .astype(str))
        scores[number, [vocabulary.index(i) for i in clicked if i in vocabulary]] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.asarray(vocabulary)[top], np.take_along_axis(scores, top, 1)


def test_recommend_from_the_run_is_the_models_own_ranking_at_any_k(exported, tmp_path):
    import pandas as pd

    run_dir, path = exported
    run = experiment.load_run(run_dir)
    users = sorted(run.prepared.held_out["test"]["games"].users.astype(str))
    pd.DataFrame({"user_id": users}).to_csv(tmp_path / "users.csv", index=False)
    out = tmp_path / "recs.parquet"
    assert main(["recommend", str(run_dir), "--users", str(tmp_path / "users.csv"), "--k", "8",
                 "--domains", "games", "--out", str(out), "--batch-size", "7", "--quiet"]) == 0
    recs = pd.read_parquet(out)
    assert list(recs.columns) == ["user_id", "domain", "rank", "item_id", "score"]
    ids, scores = _expected_top(run, run_dir, users, "games", 8)
    for number, user in enumerate(users):
        mine = recs[recs["user_id"] == user]
        assert mine["rank"].tolist() == list(range(1, 9)) and set(mine["domain"]) == {"games"}
        assert mine["item_id"].tolist() == ids[number].tolist()
        np.testing.assert_allclose(mine["score"], scores[number], atol=1e-5)


def test_recommend_from_an_export_reads_a_history_file_up_to_its_top_k(exported, tmp_path,
                                                                       capsys):
    import pandas as pd

    run_dir, path = exported
    from tfxdr.data.splits import load_split

    frame, _ = load_split(run_dir)
    frame[["user_id", "item_id", "domain", "timestamp"]].to_csv(tmp_path / "clicks.csv",
                                                                 index=False)
    users = sorted(frame["user_id"].unique())[:9]
    pd.DataFrame({"user_id": users}).to_csv(tmp_path / "users.csv", index=False)
    args = ["recommend", str(path), "--users", str(tmp_path / "users.csv"), "--history",
            str(tmp_path / "clicks.csv"), "--quiet"]
    assert main([*args, "--k", "8", "--out", str(tmp_path / "a.parquet")]) == 2
    assert capsys.readouterr().err.strip() == (
        "tfxdr: error: --k: 8 is more than the 5 items the export returns per request (its "
        "top_k); export again with --set top_k=8 or recommend from the run")
    assert not (tmp_path / "a.parquet").exists()
    assert main([*args, "--k", "5", "--out", str(tmp_path / "b.parquet")]) == 0
    recs = pd.read_parquet(tmp_path / "b.parquet")
    assert sorted(set(recs["domain"])) == list(DOMAINS)
    run = experiment.load_run(run_dir)
    for domain in DOMAINS:
        ids, scores = _expected_top(run, run_dir, users, domain, 5)
        mine = recs[recs["domain"] == domain].sort_values(["user_id", "rank"])
        assert mine["item_id"].tolist() == ids.reshape(-1).tolist()
        np.testing.assert_allclose(mine["score"], scores.reshape(-1), atol=1e-5)
    assert main([*args, "--k", "5", "--out", str(tmp_path / "b.parquet")]) == 2
    assert capsys.readouterr().err.strip().endswith("b.parquet exists; remove it or choose "
                                                    "another")


def test_contract_and_one_request_alike_through_the_savedmodel_grpc_and_rest(exported,
                                                                            tmp_path):
    """(Keras equals the SavedModel above.)"""
    from serving_paths import assert_contract, assert_served_alike

    from tfxdr.export.warmup import WARMUP_FILE, read_warmup

    _, path = exported
    assert_contract(path, "matching")
    requests = dict(read_warmup(path / "assets.extra" / WARMUP_FILE)[1::2])  # 8 users each
    for signature in ("retrieve_games", "user_embedding_music"):
        assert_served_alike(path, tmp_path / signature, signature, requests[signature])
