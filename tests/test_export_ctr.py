"""SavedModel export of the CTR models: raw ids in, ctr out, equal to the Keras model."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfxdr import experiment
from tfxdr.cli import main

SMALL = {"dadin": ["embedding_dim=8"], "din": ["embedding_dim=8"],
         "cnan_at": ["shared_dim=8", "specific_dim=2", "gate_units=8,4", "fcn_units=16,8"]}


@pytest.fixture(scope="module", params=["dadin", "din", "cnan_at"])
def exported(request, tmp_path_factory):
    from ctr_data import write_taste_csv, write_user_table

    root = tmp_path_factory.mktemp(f"export-{request.param}")
    csv = write_taste_csv(root / "taste.csv")
    # cnan_at buckets the users' continuous ages inside the model.
    users = (["--user-features", str(write_user_table(root / "users.csv"))]
             if request.param == "cnan_at" else [])
    run = root / "run"
    settings = [arg for item in SMALL[request.param] + ["batch_size=256"]
                for arg in ("--set", item)]
    assert main(["train", request.param, "--dataset", str(csv), "--domains", "movies,books",
                 "--out", str(run), "--epochs", "2", "--quiet", *users, *settings]) == 0
    assert main(["export", str(run)]) == 0
    return run, run / "export" / "1"


def _request(run, part="test", rows=64):
    """Raw-id requests for the first ``rows`` instances of ``part``, and their features."""
    instances = run.prepared.parts[part]
    batch = next(iter(instances.dataset(rows, shuffle=False)))
    raw_items = np.array([""] + [i for d in run.domains for i in run.vocabs.items[d].ids],
                         dtype=object)
    user_ids = np.array(run.vocabs.users.ids, dtype=object)[batch["user"].numpy() - 1]
    request = {
        "user_id": tf.constant(user_ids.astype(str)),
        "item_id": tf.constant(raw_items[batch["item"].numpy()].astype(str)),
        "domain": tf.constant(np.array(run.domains)[batch["domain"].numpy()]),
        "source_history": tf.constant(raw_items[batch["hist_0"].numpy()].astype(str)),
        "target_history": tf.constant(raw_items[batch["hist_1"].numpy()].astype(str)),
    }
    return request, batch


def test_saved_model_cli_lists_the_named_inputs(exported):
    _, path = exported
    cli = Path(sys.executable).parent / "saved_model_cli"
    shown = subprocess.run([str(cli), "show", "--dir", str(path), "--tag_set", "serve",
                            "--signature_def", "serving_default"],
                           capture_output=True, text=True, check=True).stdout
    for name in ("user_id", "item_id", "domain", "source_history", "target_history"):
        assert re.search(rf"inputs\['{name}'\] tensor_info:\s+dtype: DT_STRING", shown), name
    assert re.search(r"outputs\['ctr'\] tensor_info:\s+dtype: DT_FLOAT", shown)


def test_reloaded_model_equals_keras_model_on_raw_ids(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    request, batch = _request(run)
    served = tf.saved_model.load(str(path))
    out = served.signatures["serving_default"](**request)["ctr"].numpy()
    features = {k: v for k, v in batch.items() if k != "label"}
    expected = np.asarray(run.model(features, training=False))
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert out.shape == (64,) and np.all((out >= 0) & (out <= 1))
    # The lookups rebuild exactly the training features from raw ids.
    module, _ = run.task.serving_module(run)
    rebuilt = module.features(**request)
    for name, value in features.items():
        np.testing.assert_array_equal(rebuilt[name].numpy(), value.numpy(), err_msg=name)


def test_unknown_ids_map_to_padding_and_histories_matter(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    request, _ = _request(run, rows=4)
    served = tf.saved_model.load(str(path)).signatures["serving_default"]
    unknown = dict(request, source_history=tf.fill([4, 3], "no-such-item"),
                   target_history=tf.fill([4, 1], ""))
    empty = dict(request, source_history=tf.fill([4, 1], ""), target_history=tf.fill([4, 1], ""))
    np.testing.assert_allclose(served(**unknown)["ctr"].numpy(), served(**empty)["ctr"].numpy(),
                               atol=1e-6)
    assert not np.allclose(served(**request)["ctr"].numpy(), served(**empty)["ctr"].numpy())


def test_long_histories_keep_the_last_history_len_known_items(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    request, batch = _request(run, rows=3)
    served = tf.saved_model.load(str(path)).signatures["serving_default"]
    history_len = run.prepared.parts["train"].history_len
    books = run.vocabs.items["books"].ids
    clicks = [books[i % len(books)] for i in range(history_len + 7)]
    noisy = clicks[:5] + ["", "no-such-item"] + clicks[5:]  # padding and unknowns anywhere
    long = dict(request, target_history=tf.constant([noisy] * 3))
    recent = dict(request, target_history=tf.constant([clicks[-history_len:]] * 3))
    np.testing.assert_allclose(served(**long)["ctr"].numpy(), served(**recent)["ctr"].numpy(),
                               atol=1e-6)
    module, _ = run.task.serving_module(run)
    kept = module.features(**long)["hist_1"].numpy()
    assert kept.shape == (3, history_len)
    expected = [run.vocabs.items["movies"].ids.__len__() + books.index(i) + 1
                for i in clicks[-history_len:]]
    np.testing.assert_array_equal(kept[0], expected)


def test_bad_requests_name_the_input(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    request, _ = _request(run, rows=2)
    loaded = tf.saved_model.load(str(path))
    served = loaded.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(
            "Shape of tensor source_history [2] is not compatible with expected shape [?,?]")):
        served(**dict(request, source_history=tf.constant(["m1", "m2"])))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="item_id: expected one row per user_id"):
        served(**dict(request, item_id=tf.constant(["m1"])))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="domain: unknown domain name; expected one of movies, books"):
        served(**dict(request, domain=tf.constant(["movies", "music"])))
    with pytest.raises(TypeError, match="missing a required argument: 'target_history'"):
        served(**{k: v for k, v in request.items() if k != "target_history"})
    with pytest.raises(TypeError, match=re.escape(
            "TensorSpec(shape=<unknown>, dtype=tf.string, name='user_id')")):
        loaded.serve(tf.constant([1, 2], tf.int64), *list(request.values())[1:])


def test_no_domain_classifier_or_dropout_in_the_serving_graph(exported):
    from tensorflow.core.protobuf import saved_model_pb2

    _, path = exported
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    ops = {node.op for node in nodes}
    assert not {op for op in ops if "Random" in op or "Dropout" in op}, ops
    names = " ".join(node.name for node in nodes)
    for training_only in ("domain_global", "domain_positive", "domain_negative", "reversal",
                          "domain_discriminator", "adam"):
        assert training_only not in names, training_only
    # Only the variables the predictor reads are saved: no optimizer state, no classifiers.
    saved = tf.saved_model.load(str(path)).serving_variables
    assert saved and not [v.name for v in saved
                          if re.search("domain_(global|positive|negative|discriminator)|adam",
                                       v.name)]


def test_continuous_fields_are_served_raw_and_bucketed_in_the_model(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    if run.saved["model"] != "cnan_at":
        pytest.skip("only cnan_at buckets continuous fields")
    assert "n_u_age" in run.model.embedding.field_names
    boundaries = run.model.embedding.continuous["n_u_age"]
    assert len(boundaries) == 9 and boundaries == sorted(boundaries)  # 10 quantile buckets
    request, batch = _request(run)
    module, _ = run.task.serving_module(run)
    ages = module.features(**request)["n_u_age"].numpy()
    assert ages.dtype == np.float32 and np.isnan(ages).any() and (ages > 14).any()
    # Each domain's instances go through their own network: scoring a row in the
    # other domain's network changes its click probability.
    features = {k: v for k, v in batch.items() if k != "label"}
    swapped = dict(features, domain=1 - features["domain"])
    assert not np.allclose(np.asarray(run.model(features)), np.asarray(run.model(swapped)))
