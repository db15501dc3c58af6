"""SavedModel export: named signatures, raw ids in and out, equal to the Keras model."""

import dataclasses
import itertools
import re

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfxdr import experiment
from tfxdr.cli import main
from tfxdr.config import apply_overrides
from tfxdr.data import RawDataset, make_split, select_domains
from tfxdr.export import save_module
from tfxdr.models import MODELS
from tfxdr.tasks import ClickTranslationTask
from tfxdr.training import set_seed

FAST = ["--epochs", "3", "--quiet", "--set", "private_dims=32", "--set", "shared_dims=16",
        "--set", "latent_dim=8", "--set", "batch_size=64", "--set", "top_k=5"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, planted_frame):
    """A d2dtm run on integer item ids, one item id listed in both domains, exported."""
    root = tmp_path_factory.mktemp("export")
    frame = planted_frame.copy()
    frame["item_id"] = frame["item_id"].str[1:].astype(int) + np.where(
        frame["domain"] == "books", 1000, 2000)
    # Item 1000 is also sold as a movie: a request holding it must not get it back.
    extra = frame[frame["item_id"] == 2000].assign(item_id=1000)
    frame = pd.concat([frame.loc[frame["item_id"] != 2000], extra])
    csv = root / "interactions.csv"
    frame.to_csv(csv, index=False)
    run = root / "run"
    assert main(["train", "d2dtm", "--dataset", str(csv), "--domains", "books,movies",
                 "--out", str(run), *FAST]) == 0
    assert main(["export", str(run)]) == 0
    return run, run / "export" / "1"


def _meta_graph(path):
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    return proto.meta_graphs[0]


def test_saved_model_declares_named_signatures(exported):
    """What TF Serving (and ``saved_model_cli show``) reads from the SavedModel."""
    _, path = exported
    signatures = _meta_graph(path).signature_def
    assert sorted(signatures) == ["__saved_model_init_op", "books_to_movies", "movies_to_books",
                                  "serving_default"]
    for name, num_items in (("books_to_movies", 40), ("movies_to_books", 60),
                            ("serving_default", 40)):
        signature = signatures[name]
        assert signature.method_name == "tensorflow/serving/predict"
        (item_ids,) = signature.inputs.values()
        assert list(signature.inputs) == ["item_ids"]
        # The rank is left open in the signature and checked at run time (see export/common.py).
        assert item_ids.dtype == tf.int64.as_datatype_enum and item_ids.tensor_shape.unknown_rank
        outputs = {key: (tf.dtypes.as_dtype(value.dtype),
                         [d.size for d in value.tensor_shape.dim])
                   for key, value in signature.outputs.items()}
        assert outputs == {"scores": (tf.float32, [-1, num_items]),
                           "top_k_ids": (tf.int64, [-1, 5]),
                           "top_k_scores": (tf.float32, [-1, 5])}


def test_reloaded_model_equals_keras_model_and_uses_raw_ids(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    served = tf.saved_model.load(str(path))
    books = [int(i) for i in run.spec["items_books"].vocabulary]
    movies = [int(i) for i in run.spec["items_movies"].vocabulary]
    request = tf.constant([[books[1], books[3], -1], [books[5], 999999, -1]], tf.int64)
    out = served.signatures["books_to_movies"](item_ids=request)
    expected = np.asarray(run.model.translate({"items_books": request}, 0, 1))
    # 999999 is unknown and ignored, -1 is padding: the same as the known ids alone, as text.
    known = tf.constant([[str(books[1]), str(books[3])], [str(books[5]), ""]])
    np.testing.assert_allclose(np.asarray(run.model.translate({"items_books": known}, 0, 1)),
                               expected, atol=1e-6)
    np.testing.assert_allclose(out["scores"].numpy(), expected, atol=1e-5)
    top = np.argsort(-expected, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(out["top_k_ids"].numpy(), np.asarray(movies)[top])
    np.testing.assert_allclose(out["top_k_scores"].numpy(), np.take_along_axis(expected, top, 1),
                               atol=1e-5)


def test_item_in_both_domains_is_not_recommended_back(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    served = tf.saved_model.load(str(path))
    request = tf.constant([[1000], [1001]], tf.int64)
    out = served.signatures["books_to_movies"](item_ids=request)
    movies_1000 = run.spec["items_movies"].vocabulary.index("1000")
    scores = out["scores"].numpy()
    assert scores[0, movies_1000] == -np.inf
    assert 1000 not in out["top_k_ids"].numpy()[0]
    # Only the user who holds it loses it; the other scores are the model's.
    expected = np.asarray(run.model.translate({"items_books": request}, 0, 1))
    assert np.isfinite(scores[1, movies_1000])
    np.testing.assert_allclose(np.delete(scores[0], movies_1000),
                               np.delete(expected[0], movies_1000), atol=1e-5)
    np.testing.assert_allclose(scores[1], expected[1], atol=1e-5)


def test_bad_requests_name_the_input(exported):
    _, path = exported
    served = tf.saved_model.load(str(path))
    signature = served.signatures["books_to_movies"]
    # Through the module's function the dtype error names the input ...
    with pytest.raises(TypeError, match=re.escape(
            "TensorSpec(shape=<unknown>, dtype=tf.int64, name='item_ids')")):
        served.books_to_movies(tf.constant([[1.5]], tf.float32))
    # ... through the raw signature it names input #0 and the expected dtype.
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"input #0\(zero-based\) was expected to be a int64 tensor"):
        signature(item_ids=tf.constant([[1.5]], tf.float32))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=re.escape("Shape of tensor item_ids [1] is not compatible with "
                                       "expected shape [?,?]")):
        signature(item_ids=tf.constant([1], tf.int64))
    with pytest.raises(TypeError, match="missing a required argument: 'item_ids'"):
        signature(ids=tf.constant([[1]], tf.int64))


def test_no_training_only_ops_in_the_serving_graph(exported):
    _, path = exported
    graph = _meta_graph(path).graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    assert "TopKV2" in ops  # the op set is the serving graph's
    assert not {op for op in ops if "Random" in op or "Dropout" in op}, ops
    names = " ".join(node.name for f in graph.library.function for node in f.node_def)
    assert "Ea_" in names  # the encoder is there ...
    assert "Da_" not in names and "Db_" not in names  # ... the discriminators are not


def test_second_export_gets_next_version(exported, capsys):
    run_dir, _ = exported
    assert main(["export", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(run_dir / "export" / "2")
    assert main(["export", str(run_dir), "--version", "2"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"tfxdr: error: --version: {run_dir / 'export' / '2'}: version 2 is already exported")


def test_a_serving_root_holds_each_model_under_its_name_with_its_own_versions(exported,
                                                                             tmp_path, capsys):
    run_dir, _ = exported
    root = tmp_path / "models"
    for expected in ("1", "2"):
        assert main(["export", str(run_dir), "--base-path", str(root), "--name", "d2dtm"]) == 0
        assert capsys.readouterr().out.strip() == str(root / "d2dtm" / expected)
    assert main(["export", str(run_dir), "--base-path", str(root), "--name", "clicks.v2",
                 "--version", "7"]) == 0
    capsys.readouterr()
    # TF Serving reads integer children only: nothing else is left in a base path.
    assert sorted(p.name for p in (root / "d2dtm").iterdir()) == ["1", "2"]
    assert sorted(p.name for p in root.iterdir()) == ["clicks.v2", "d2dtm"]
    assert (root / "clicks.v2" / "7" / "saved_model.pb").is_file()
    for argv, message in (
            (["--name", "d2dtm"], "--name: --base-path and --name go together: the model is "
                                  "written to BASE_PATH/NAME/<version>"),
            (["--base-path", str(root), "--name", "../up"],
             "--name: model name '../up' is invalid: expected letters, digits, '_', '.' or '-', "
             "starting with a letter or digit")):
        assert main(["export", str(run_dir), *argv]) == 2
        assert capsys.readouterr().err.strip() == f"tfxdr: error: {message}"


@pytest.mark.parametrize("name, overrides", [
    ("multivae", ["hidden_dims=16", "latent_dim=4", "batch_size=64", "top_k=3"]),
    ("ridge", ["l2=30", "batch_size=64", "top_k=3"]),
])
def test_three_domain_export_has_a_signature_per_ordered_pair(planted3_frame, tmp_path, name,
                                                              overrides):
    """Every ordered pair is served, and each signature is ``model.translate`` of that pair."""
    domains = ("books", "movies", "games")
    task = ClickTranslationTask()
    raw = RawDataset("planted3", planted3_frame, None, None, {"path": "planted3"})
    interactions = task.restrict(select_domains(raw, domains))
    split = make_split(interactions, dataclasses.replace(task.default_split, seed=0))
    spec = task.feature_spec(interactions, split, None)
    data = task.prepare(split, spec, None)
    set_seed(0)
    config = apply_overrides(MODELS.get(name).config_cls(), overrides)
    model = MODELS.get(name).create(config, spec, 0)
    model.fit(task.train_dataset(data, 64, 0), epochs=1, verbose=0, shuffle=False)
    module, signatures = task.serving_module(model, data)
    served = tf.saved_model.load(str(save_module(module, signatures, tmp_path)))

    pairs = list(itertools.permutations(range(3), 2))
    assert sorted(served.signatures) == sorted(
        [f"{domains[s]}_to_{domains[t]}" for s, t in pairs] + ["serving_default"])
    for s, t in pairs:
        source = spec[f"items_{domains[s]}"].vocabulary
        target = np.asarray(spec[f"items_{domains[t]}"].vocabulary)
        request = tf.constant([[source[0], source[2], ""], [source[1], "unseen", source[3]]])
        out = served.signatures[f"{domains[s]}_to_{domains[t]}"](item_ids=request)
        expected = np.asarray(model.translate({f"items_{domains[s]}": request}, s, t))
        assert expected.shape == (2, len(target))
        np.testing.assert_allclose(out["scores"].numpy(), expected, atol=1e-5)
        top = np.argsort(-expected, axis=1, kind="stable")[:, :3]
        np.testing.assert_array_equal(out["top_k_ids"].numpy().astype(str), target[top])
        if (s, t) == (0, 1):
            default = served.signatures["serving_default"](item_ids=request)
            np.testing.assert_allclose(default["scores"].numpy(), expected, atol=1e-5)


def test_warmup_requests_are_validation_users_source_clicks_and_replay(exported):
    from tfxdr.export.warmup import WARMUP_FILE, read_warmup, replay_warmup

    run_dir, path = exported
    requests = read_warmup(path / "assets.extra" / WARMUP_FILE)
    assert [(name, len(inputs["item_ids"])) for name, inputs in requests] == [
        (name, size) for name in ("books_to_movies", "movies_to_books", "serving_default")
        for size in (1, 8)]
    run = experiment.load_run(run_dir)
    first = run.prepared.parts["val"][0]
    clicked = requests[0][1]["item_ids"][0]
    assert sorted(str(i) for i in clicked if i != -1 and i != b"") == sorted(
        run.prepared.rows["items_books"].row(first).astype(str))
    assert replay_warmup(path) == 6


def test_recommend_translates_each_users_source_clicks(exported, tmp_path):
    from tfxdr.data.splits import load_split

    run_dir, _ = exported
    run = experiment.load_run(run_dir)
    frame, _ = load_split(run_dir)
    users = sorted(frame[frame["split"] == "test"]["user_id"].unique())[:25]
    pd.DataFrame({"user_id": users}).to_csv(tmp_path / "users.csv", index=False)
    out = tmp_path / "recs.parquet"
    assert main(["recommend", str(run_dir), "--users", str(tmp_path / "users.csv"), "--k", "10",
                 "--domains", "movies", "--out", str(out), "--quiet"]) == 0
    recs = pd.read_parquet(out)
    books = frame[frame["domain"] == "books"]
    width = max(books.groupby("user_id").size())
    rows = [[str(i) for i in books[books["user_id"] == u]["item_id"]] for u in users]
    request = tf.constant([[""] * (width - len(r)) + r for r in rows])
    scores = np.array(run.model.translate({"items_books": request}, 0, 1))
    movies = [str(i) for i in run.spec["items_movies"].vocabulary]
    for number, user in enumerate(users):
        if "1000" in rows[number]:  # listed in both domains: not recommended back
            scores[number, movies.index("1000")] = -np.inf
        top = np.argsort(-scores[number], kind="stable")[:10]
        mine = recs[recs["user_id"] == user]
        assert mine["item_id"].tolist() == [movies[i] for i in top]
        np.testing.assert_allclose(mine["score"], scores[number, top], atol=1e-5)


def test_contract_and_one_request_alike_through_keras_the_savedmodel_grpc_and_rest(exported,
                                                                                  tmp_path):
    from serving_paths import assert_contract, assert_served_alike

    from tfxdr.export.warmup import WARMUP_FILE, read_warmup

    run_dir, path = exported
    assert_contract(path, "clicks")
    signature, inputs = next((s, i) for s, i in read_warmup(path / "assets.extra" / WARMUP_FILE)
                             if s == "books_to_movies" and len(i["item_ids"]) > 1)
    direct = assert_served_alike(path, tmp_path, signature, inputs)
    keras_scores = np.asarray(experiment.load_run(run_dir).model.translate(
        {"items_books": tf.constant(inputs["item_ids"])}, 0, 1))
    kept = np.isfinite(direct["scores"])  # items of the request itself are -inf
    np.testing.assert_allclose(direct["scores"][kept], keras_scores[kept], atol=1e-5)


def test_end_to_end_two_versions_labels_both_transports_bad_requests_and_load(exported,
                                                                              tmp_path):
    """The deployment path as a user runs it: export twice to a model root, a
    models.config with labels, the model server in its own process, the client."""
    import subprocess
    import sys

    from serving_paths import free_port
    from tfxdr_serving.cli import main as serving_main
    from tfxdr_serving.client import RequestError, ServingClient

    run_dir, _ = exported
    models = tmp_path / "models"
    for version in (1, 2):
        assert main(["export", str(run_dir), "--base-path", str(models), "--name", "clicks"]) == 0
        assert (models / "clicks" / str(version) / "saved_model.pb").is_file()
    assert serving_main(["config", "--base-path", str(models), "--model",
                         "clicks@stable=1,canary=2", "--out", str(models / "models.config")]) == 0
    ports = [free_port(), free_port()]
    server = subprocess.Popen([sys.executable, "-m", "tfxdr_serving.server", f"--port={ports[0]}",
                               f"--rest_api_port={ports[1]}",
                               f"--model_config_file={models / 'models.config'}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run = experiment.load_run(run_dir)
        books = [int(i) for i in run.spec["items_books"].vocabulary]
        rows = [[books[1], books[4]], [books[2]]]
        keras = np.asarray(run.model.translate({"items_books": tf.constant(
            [[str(books[1]), str(books[4])], [str(books[2]), ""]])}, 0, 1))
        for target in (f"127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"):
            client = ServingClient(target, "clicks", timeout_s=120, retries=200)
            assert [s["version"] for s in client.status()] == [2, 1]  # waits for the load
            for label in ("stable", "canary"):
                answer = client.predict({"item_ids": rows}, "books_to_movies", label=label)
                np.testing.assert_allclose(answer["scores"], keras, atol=1e-5)
            raw = ServingClient(target, "clicks", validate=False)
            for inputs, signature, kwargs, code, named in (
                    ({"item_ids": [[1.5]]}, "books_to_movies", {}, "INVALID_ARGUMENT", "item_ids"),
                    ({"item_ids": [1, 2]}, "books_to_movies", {}, "INVALID_ARGUMENT", "item_ids"),
                    ({}, "books_to_movies", {}, "INVALID_ARGUMENT", "item_ids"),
                    ({"item_ids": [[1]]}, "books_to_movies", {"version": 7}, "NOT_FOUND", None),
                    ({"item_ids": [[1]]}, "books_to_movies", {"label": "beta"},
                     "INVALID_ARGUMENT", None)):
                with pytest.raises(RequestError) as refused:
                    raw.predict(inputs, signature, **kwargs)
                assert (refused.value.code, refused.value.input) == (code, named), \
                    (target, inputs, str(refused.value))
            extra = {"item_ids": [[1]], "user": [1]}
            with pytest.raises(RequestError) as refused:  # the client checks before sending
                client.predict(extra, "books_to_movies")
            assert (refused.value.code, refused.value.input) == ("INVALID_ARGUMENT", "user")
            if target.startswith("http"):  # TF Serving's REST API ignores unknown inputs
                assert raw.predict(extra, "books_to_movies")["scores"].shape[0] == 1
            else:
                with pytest.raises(RequestError) as refused:
                    raw.predict(extra, "books_to_movies")
                assert refused.value.input == "user" and "Sent extra: {user}" in str(refused.value)
            with pytest.raises(RequestError) as refused:
                ServingClient(target, "nope", validate=False).predict({"item_ids": [[1]]})
            assert refused.value.code == "NOT_FOUND"
            answers = [client.predict({"item_ids": [row]}, "books_to_movies") for row in
                       rows * 500]  # 1000 requests after the bad ones: all served
            assert len(answers) == 1000
            np.testing.assert_allclose(answers[-1]["scores"], keras[1:], atol=1e-5)
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0


def test_recommend_refuses_bad_input_in_one_line(exported, tmp_path, capsys):
    run_dir, _ = exported
    (tmp_path / "no_column.csv").write_text("uid\nu1\n")
    (tmp_path / "twice.csv").write_text("user_id\nu1\nu1\n")
    (tmp_path / "users.csv").write_text("user_id\nu1\n")
    cases = [
        (["--users", str(tmp_path / "no_column.csv"), "--k", "5"],
         f"{tmp_path / 'no_column.csv'}: missing column 'user_id'; expected a table of user ids"),
        (["--users", str(tmp_path / "twice.csv"), "--k", "5"],
         f"{tmp_path / 'twice.csv'}: column 'user_id' line 3: 'u1' is listed twice"),
        (["--users", str(tmp_path / "users.csv"), "--k", "5", "--domains", "games"],
         "--domains: 'games' is not a domain of the model; expected some of books, movies"),
    ]
    for args, message in cases:
        out = tmp_path / "recs.parquet"
        assert main(["recommend", str(run_dir), *args, "--out", str(out), "--quiet"]) == 2
        assert capsys.readouterr().err.strip() == f"tfxdr: error: {message}"
        assert not out.exists()
