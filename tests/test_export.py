"""SavedModel export: named signatures, raw ids in and out, equal to the Keras model."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfxdr import experiment
from tfxdr.cli import main

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
    frame = frame.loc[frame["item_id"] != 2000]
    frame = np.concatenate([frame.to_numpy(), extra.to_numpy()])
    csv = root / "interactions.csv"
    import pandas as pd

    pd.DataFrame(frame, columns=planted_frame.columns).to_csv(csv, index=False)
    run = root / "run"
    assert main(["train", "d2dtm", "--dataset", str(csv), "--domains", "books,movies",
                 "--out", str(run), *FAST]) == 0
    assert main(["export", str(run)]) == 0
    return run, run / "export" / "1"


def test_saved_model_cli_lists_named_signatures(exported):
    _, path = exported
    cli = Path(sys.executable).parent / "saved_model_cli"
    shown = subprocess.run([str(cli), "show", "--dir", str(path), "--all"],
                           capture_output=True, text=True, check=True).stdout
    for name in ("a_to_b", "b_to_a", "serving_default"):
        assert f"signature_def['{name}']:" in shown
    # The rank is left open in the signature and checked at run time (see export.py).
    assert re.search(r"inputs\['item_ids'\] tensor_info:\s+dtype: DT_INT64\s+shape: unknown_rank",
                     shown)
    for output in ("scores", "top_k_ids", "top_k_scores"):
        assert f"outputs['{output}']" in shown


def test_reloaded_model_equals_keras_model_and_uses_raw_ids(exported):
    run_dir, path = exported
    run = experiment.load_run(run_dir)
    served = tf.saved_model.load(str(path))
    books = [int(i) for i in run.vocabs.items["books"].ids]
    movies = [int(i) for i in run.vocabs.items["movies"].ids]
    request = tf.constant([[books[1], books[3], -1], [books[5], 999999, -1]], tf.int64)
    out = served.signatures["a_to_b"](item_ids=request)
    x = np.zeros((2, len(books)), np.float32)
    x[0, [1, 3]] = 1.0
    x[1, 5] = 1.0  # 999999 is unknown and ignored, -1 is padding
    expected = np.asarray(run.model.cross_domain_scores(x, "a_to_b"))
    np.testing.assert_allclose(out["scores"].numpy(), expected, atol=1e-5)
    top = np.argsort(-expected, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(out["top_k_ids"].numpy(), np.asarray(movies)[top])
    np.testing.assert_allclose(out["top_k_scores"].numpy(), np.take_along_axis(expected, top, 1),
                               atol=1e-5)


def test_item_in_both_domains_is_not_recommended_back(exported):
    _, path = exported
    served = tf.saved_model.load(str(path))
    out = served.signatures["a_to_b"](item_ids=tf.constant([[1000]], tf.int64))
    run = experiment.load_run(exported[0])
    movies_1000 = run.vocabs.items["movies"].ids.index("1000")
    assert out["scores"].numpy()[0, movies_1000] == -np.inf
    assert 1000 not in out["top_k_ids"].numpy()[0]


def test_bad_requests_name_the_input(exported):
    _, path = exported
    served = tf.saved_model.load(str(path))
    signature = served.signatures["a_to_b"]
    # Through the module's function the dtype error names the input ...
    with pytest.raises(TypeError, match=re.escape(
            "TensorSpec(shape=<unknown>, dtype=tf.int64, name='item_ids')")):
        served.a_to_b(tf.constant([[1.5]], tf.float32))
    # ... through the raw signature it names input #0 and the expected dtype.
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"input #0\(zero-based\) was expected to be a int64 tensor"):
        signature(item_ids=tf.constant([[1.5]], tf.float32))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=re.escape("Shape of tensor item_ids [1] is not compatible with "
                                       "expected shape [?,?]")):
        signature(item_ids=tf.constant([1], tf.int64))
    with pytest.raises(TypeError, match="item_ids"):
        signature(ids=tf.constant([[1]], tf.int64))


def test_no_training_only_ops_in_the_serving_graph(exported):
    from tensorflow.core.protobuf import saved_model_pb2

    _, path = exported
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    assert not {op for op in ops if "Random" in op or "Dropout" in op}, ops
    names = " ".join(node.name for f in graph.library.function for node in f.node_def)
    assert "Da_" not in names and "Db_" not in names  # no discriminator in serving


def test_second_export_gets_next_version(exported, capsys):
    run_dir, _ = exported
    assert main(["export", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip().endswith("export/2")
