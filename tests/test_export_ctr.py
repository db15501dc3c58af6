"""SavedModel export of the CTR models: raw ids in, ctr out, equal to the Keras model."""

import json
import re

import numpy as np
import pytest
import tensorflow as tf

from tfxdr import experiment
from tfxdr.cli import main
from tfxdr.metrics import auc

SMALL = {"dadin": ["embedding_dim=8"], "din": ["embedding_dim=8"],
         "cnan_at": ["shared_dim=8", "specific_dim=2", "gate_units=8,4", "fcn_units=16,8"]}
HISTORIES = ("history_movies", "history_books")


@pytest.fixture(scope="module", params=["dadin", "din", "cnan_at"])
def exported(request, tmp_path_factory):
    from ctr_data import write_taste_csv, write_user_table

    root = tmp_path_factory.mktemp(f"export-{request.param}")
    csv = write_taste_csv(root / "taste.csv")
    # cnan_at buckets the users' continuous ages (from the spec's user table).
    users = (["--user-features", str(write_user_table(root / "users.csv"))]
             if request.param == "cnan_at" else [])
    run = root / "run"
    settings = [arg for item in SMALL[request.param] + ["batch_size=256"]
                for arg in ("--set", item)]
    assert main(["train", request.param, "--dataset", str(csv), "--domains", "movies,books",
                 "--out", str(run), "--epochs", "1", "--quiet", *users, *settings]) == 0
    assert main(["export", str(run)]) == 0
    return experiment.load_run(run), run, tf.saved_model.load(str(run / "export" / "1"))


def _request(run, part="test", rows=64):
    """The raw request and labels of the first ``rows`` instances of ``part``, laid out
    as in training."""
    features, labels = next(iter(run.prepared.parts[part].dataset(rows, shuffle=False)))
    return dict(features), labels.numpy()


def _serve(served, request):
    return served.signatures["serving_default"](**request)["ctr"].numpy()


def _saved_model_proto(run_dir):
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((run_dir / "export" / "1" / "saved_model.pb").read_bytes())
    return proto


def test_the_signature_names_its_raw_inputs(exported):
    """The SignatureDef (what saved_model_cli shows): one string input per request key."""
    _, run_dir, _ = exported
    signature = _saved_model_proto(run_dir).meta_graphs[0].signature_def["serving_default"]
    assert {name: tf.as_dtype(t.dtype).name for name, t in signature.inputs.items()} == {
        name: "string" for name in ("user_id", "item_id", "domain", *HISTORIES)}
    assert {name: tf.as_dtype(t.dtype).name for name, t in signature.outputs.items()} == {
        "ctr": "float32"}


def test_served_ctr_equals_the_keras_model_and_reproduces_the_test_auc(exported):
    run, run_dir, served = exported
    request, _ = _request(run)
    assert set(request) == {"user_id", "item_id", "domain", *HISTORIES}
    out = _serve(served, request)
    np.testing.assert_allclose(out, np.asarray(run.model(request, training=False)), atol=1e-5)
    # Every test instance served as a raw request scores the AUC the run reported.
    instances = run.prepared.parts["test"]
    served_all = np.concatenate([_serve(served, dict(f))
                                 for f, _ in instances.dataset(512, shuffle=False)])
    reported = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    for domain in ("movies", "books"):
        rows = instances.columns["domain"] == domain
        assert auc(instances.columns["label"][rows], served_all[rows]) == pytest.approx(
            reported[domain]["auc"], abs=1e-4)


def test_ids_training_never_saw_map_to_the_unknown_index(exported):
    run, _, served = exported
    request, _ = _request(run, rows=4)
    spec = run.spec
    indices = run.model.preprocessor({"user_id": tf.constant(["no-such-user", "another-new-user"]),
                                      "item_id": tf.constant(["no-such-item", spec["item_id"]
                                                              .vocabulary[0]])})
    np.testing.assert_array_equal(indices["user_id"].numpy(), [1, 1])
    np.testing.assert_array_equal(indices["item_id"].numpy(), [1, 2])
    # A cold-start test user (in no training row) and an id never seen at all are one
    # user to the served model, the unknown one (without a user table to tell them apart).
    users = run.prepared.parts["test"].columns["user_id"]
    cold = next(u for u in users if u not in spec["user_id"].vocabulary)
    assert run.model.preprocessor({"user_id": tf.constant([cold])})["user_id"].numpy() == [1]
    if "user_id" in spec.tables:
        return  # cnan_at's run has user profiles; see the continuous-profile test
    first = _serve(served, dict(request, user_id=tf.constant([cold] * 4)))
    second = _serve(served, dict(request, user_id=tf.constant(["no-such-user"] * 4)))
    np.testing.assert_array_equal(first, second)


def _history_layout(ids, width):
    """The training layout of a history: its last ``width`` ids, left-padded with ""."""
    kept = ids[-width:]
    return [""] * (width - len(kept)) + kept


def test_histories_keep_unknown_ids_drop_padding_and_keep_the_last_history_len(exported):
    run, _, served = exported
    request, _ = _request(run, rows=3)
    width = run.spec["history_books"].width
    assert width == 50
    books = [i for i in run.spec["item_id"].vocabulary if i.startswith("b")]
    clicks = [books[i % len(books)] for i in range(width + 7)]
    clicks[-3] = "no-such-item"  # an unknown id among the kept ones
    noisy = clicks[:5] + ["", ""] + clicks[5:-2] + [""] + clicks[-2:] + ["", ""]
    layout = _history_layout(clicks, width)
    long = dict(request, history_books=tf.constant([noisy] * 3))
    recent = dict(request, history_books=tf.constant([layout] * 3))
    expected = np.asarray(run.model(recent, training=False))
    np.testing.assert_allclose(_serve(served, long), expected, atol=1e-5)
    np.testing.assert_allclose(_serve(served, recent), expected, atol=1e-5)
    indices = run.model.preprocessor(long)["history_books"].numpy()
    vocabulary = run.spec["item_id"].vocabulary
    by_hand = [1 if i == "no-such-item" else vocabulary.index(i) + 2 for i in clicks[-width:]]
    np.testing.assert_array_equal(indices, [by_hand] * 3)
    # Both layouts are the same indices, so the served graph gives the same bits; the
    # unknown id is read, not dropped: leaving it out changes the click probability.
    np.testing.assert_array_equal(_serve(served, long), _serve(served, recent))
    without = dict(request, history_books=tf.constant(
        [_history_layout([i for i in clicks if i != "no-such-item"], width)] * 3))
    assert not np.array_equal(_serve(served, without), _serve(served, recent))
    # And the histories matter: empty ones give other probabilities.
    empty = dict(request, **{name: tf.fill([3, 1], "") for name in HISTORIES})
    assert not np.array_equal(_serve(served, empty), _serve(served, request))


def test_bad_requests_name_the_input(exported):
    run, _, loaded = exported
    request, _ = _request(run, rows=2)
    served = loaded.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(
            "Shape of tensor history_movies [2] is not compatible with expected shape [?,?]")):
        served(**dict(request, history_movies=tf.constant(["m1", "m2"])))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="item_id: expected one row per user_id"):
        served(**dict(request, item_id=tf.constant(["m1"])))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="domain: unknown domain name; expected one of movies, books"):
        served(**dict(request, domain=tf.constant(["movies", "music"])))
    with pytest.raises(TypeError, match="missing a required argument: 'history_books'"):
        served(**{k: v for k, v in request.items() if k != "history_books"})
    order = [f.name for f in run.spec.select(request=True)]
    with pytest.raises(TypeError, match=re.escape(
            "TensorSpec(shape=<unknown>, dtype=tf.string, name='user_id')")):
        loaded.serve(*[tf.constant([1, 2], tf.int64) if name == "user_id" else request[name]
                       for name in order])


def test_no_domain_classifier_or_dropout_in_the_serving_graph(exported):
    _, run_dir, served = exported
    graph = _saved_model_proto(run_dir).meta_graphs[0].graph_def
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    ops = {node.op for node in nodes}
    # Neither dropout nor the unknown-id replacement of training runs when serving.
    assert not {op for op in ops if "Random" in op or "Dropout" in op}, ops
    names = " ".join(node.name for node in nodes)
    for training_only in ("domain_global", "domain_positive", "domain_negative", "reversal",
                          "domain_discriminator", "unknown_ids", "adam"):
        assert training_only not in names, training_only
    # Only the variables the predictor reads are saved: no optimizer state, no classifiers.
    saved = served.serving_variables
    assert saved and not [v.name for v in saved
                          if re.search("domain_(global|positive|negative|discriminator)|adam",
                                       v.name)]


def test_continuous_profiles_are_looked_up_by_user_and_bucketed_in_the_model(exported):
    run, _, _ = exported
    if run.saved["model"] != "cnan_at":
        pytest.skip("only cnan_at buckets continuous fields")
    spec = run.spec
    age = spec["user_age"]
    assert age.kind == "continuous" and age.key == "user_id"
    assert len(age.boundaries) == 9 and list(age.boundaries) == sorted(age.boundaries)
    assert "user_age" in run.model.embedding.fields
    # A user's age comes from the spec's user table, for users training never saw too;
    # a missing age (every 17th user from u0) is index 0, as is an unknown user's.
    table = spec.tables["user_id"]
    vocabulary = spec["user_id"].vocabulary
    known = next(u for u in vocabulary if int(u[1:]) % 17)
    cold = next(u for u in table.keys if u not in vocabulary and int(u[1:]) % 17)
    missing = next(u for u in table.keys if int(u[1:]) % 17 == 0)
    users = [known, cold, missing, "no-such-user"]
    indices = run.model.preprocessor({"user_id": tf.constant(users)})
    ages = [table.columns["user_age"][table.keys.index(u)] for u in users[:3]]
    assert np.isnan(ages[2]) and not np.isnan(ages[:2]).any()
    np.testing.assert_array_equal(indices["user_age"].numpy(),
                                  [np.digitize(ages[0], age.boundaries) + 1,
                                   np.digitize(ages[1], age.boundaries) + 1, 0, 0])
    np.testing.assert_array_equal(indices["user_id"].numpy()[[0, 1, 3]],
                                  [vocabulary.index(known) + 2, 1, 1])
    # Each domain's instances go through their own network: scoring a row in the
    # other domain's network changes its click probability.
    request, _ = _request(run)
    names = request["domain"].numpy()
    swapped = dict(request, domain=tf.constant(np.where(names == b"movies", "books", "movies")))
    assert not np.allclose(np.asarray(run.model(request)), np.asarray(run.model(swapped)))


def test_integer_ids_are_served_as_int64_with_minus_one_padding(tmp_path):
    """When every raw id is a canonical integer, requests carry int64 ids, -1 padded."""
    import pandas as pd

    from ctr_data import write_taste_csv

    frame = pd.read_csv(write_taste_csv(tmp_path / "taste.csv"))
    offset = {"m": 1000, "b": 2000}
    frame["user_id"] = frame["user_id"].str[1:].astype(int)
    frame["item_id"] = [offset[i[0]] + int(i[1:]) for i in frame["item_id"]]
    frame.to_csv(tmp_path / "ints.csv", index=False)
    run_dir = tmp_path / "run"
    assert main(["train", "lr", "--dataset", str(tmp_path / "ints.csv"), "--domains",
                 "movies,books", "--out", str(run_dir), "--epochs", "2", "--quiet"]) == 0
    assert main(["export", str(run_dir)]) == 0
    signature = _saved_model_proto(run_dir).meta_graphs[0].signature_def["serving_default"]
    assert {name: tf.as_dtype(t.dtype).name for name, t in signature.inputs.items()} == {
        "user_id": "int64", "item_id": "int64", "domain": "string",
        "history_movies": "int64", "history_books": "int64"}
    run = experiment.load_run(run_dir)
    request, _ = _request(run, rows=8)  # training layout: decimal strings, "" padded
    as_ints = {name: tf.constant(np.where(value.numpy().astype(str) == "", "-1",
                                          value.numpy().astype(str)).astype(np.int64))
               for name, value in request.items() if name != "domain"}
    for name in ("history_movies", "history_books"):  # padding after the clicks, too
        as_ints[name] = tf.constant(np.array(
            [np.concatenate([row[row >= 0], [-1] * 3, row[row < 0]])
             for row in as_ints[name].numpy()], dtype=np.int64))
    as_ints["domain"] = request["domain"]
    served = tf.saved_model.load(str(run_dir / "export" / "1")).signatures["serving_default"]
    expected = np.asarray(run.model(request, training=False))
    assert np.ptp(expected) > 1e-3  # the rows differ, so a wrong lookup would show
    np.testing.assert_allclose(served(**as_ints)["ctr"].numpy(), expected, atol=1e-5)


def test_warmup_requests_are_validation_instances_and_replay(exported):
    from tfxdr.export.warmup import WARMUP_FILE, read_warmup, replay_warmup

    run, run_dir, _ = exported
    path = run_dir / "export" / "1"
    requests = read_warmup(path / "assets.extra" / WARMUP_FILE)
    assert [(name, len(inputs["user_id"])) for name, inputs in requests] == [
        ("serving_default", 1), ("serving_default", 8)]
    request, _ = _request(run, part="val", rows=8)
    for name, value in request.items():
        np.testing.assert_array_equal(requests[1][1][name], value.numpy())
    assert replay_warmup(path) == 2


def test_recommend_ranks_each_users_candidates_by_the_models_ctr(exported, tmp_path):
    import pandas as pd

    from tfxdr.data.ctr import click_labels
    from tfxdr.data.splits import load_split

    run, run_dir, _ = exported
    request, _ = _request(run, rows=40)
    candidates = pd.DataFrame({name: request[name].numpy().astype(str)
                               for name in ("user_id", "item_id", "domain")}).drop_duplicates()
    candidates.to_csv(tmp_path / "candidates.csv", index=False)
    users = sorted(candidates["user_id"].unique())
    pd.DataFrame({"user_id": users}).to_csv(tmp_path / "users.csv", index=False)
    out = tmp_path / "recs.parquet"
    assert main(["recommend", str(run_dir), "--users", str(tmp_path / "users.csv"),
                 "--candidates", str(tmp_path / "candidates.csv"), "--k", "2",
                 "--out", str(out), "--quiet", "--batch-size", "8"]) == 0
    recs = pd.read_parquet(out)
    # The model on each candidate with the user's clicks of the run (its last history_len).
    frame, _ = load_split(run_dir)
    options = run.task.options
    clicks = frame[click_labels(frame, options.label_threshold) == 1].sort_values(
        "timestamp", kind="stable")
    width = options.history_len
    features = {name: [] for name in ("user_id", "item_id", "domain", *HISTORIES)}
    for row in candidates.itertuples():
        for name in ("user_id", "item_id", "domain"):
            features[name].append(getattr(row, name))
        for name in HISTORIES:
            mine = clicks[(clicks["user_id"] == row.user_id)
                          & (clicks["domain"] == name.split("_", 1)[1])]
            recent = [str(i) for i in mine["item_id"]][-width:]
            features[name].append([""] * (width - len(recent)) + recent)
    expected = candidates.assign(score=np.asarray(run.model(
        {k: tf.constant(v) for k, v in features.items()}, training=False)).reshape(-1))
    expected = expected.sort_values(["user_id", "domain", "score"],
                                    ascending=[True, True, False], kind="stable")
    expected["rank"] = expected.groupby(["user_id", "domain"]).cumcount() + 1
    expected = expected[expected["rank"] <= 2]
    assert recs[["user_id", "domain", "rank", "item_id"]].values.tolist() == \
        expected[["user_id", "domain", "rank", "item_id"]].values.tolist()
    np.testing.assert_allclose(recs["score"], expected["score"], atol=1e-5)


def test_contract_and_one_request_alike_through_keras_the_savedmodel_grpc_and_rest(exported,
                                                                                  tmp_path):
    from serving_paths import assert_contract, assert_served_alike

    from tfxdr.export.warmup import WARMUP_FILE, read_warmup

    run, run_dir, _ = exported
    path = run_dir / "export" / "1"
    if run.saved["model"] == "dadin":
        assert_contract(path, "ctr")
    signature, inputs = read_warmup(path / "assets.extra" / WARMUP_FILE)[-1]
    direct = assert_served_alike(path, tmp_path, signature, inputs)
    keras_ctr = np.asarray(run.model({k: tf.constant(v) for k, v in inputs.items()},
                                     training=False)).reshape(-1)
    np.testing.assert_allclose(direct["ctr"], keras_ctr, atol=1e-5)
