"""benchmarks/throughput.py: the FLOPs it counts in a training step, by hand."""

import dataclasses
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from scripts import ROOT, load_benchmark
from tfxdr.features import Feature, FeatureSpec
from tfxdr.registry import MODELS


def load_with_siblings(name: str):
    """A benchmark script that imports its sibling scripts."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return load_benchmark(name)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def throughput():
    return load_with_siblings("throughput")


def test_einsum_sizes_with_and_without_ellipsis(throughput):
    assert throughput.einsum_sizes("abe,cde->abcd", [(128, 86, 64), (2, 32, 64)]) == (
        {"a": 128, "b": 86, "e": 64, "c": 2, "d": 32}, "abcd")
    assert throughput.einsum_sizes("...ij,jk->...ik", [(3, 4, 5, 6), (6, 7)]) == (
        {"i": 5, "j": 6, "k": 7}, "...ik")


def test_multivae_step_flops_are_its_matrix_products(throughput):
    """Multi-VAE on 20 + 30 items, hidden 16, latent 4, batch 8, dense inputs: per
    user the forward multiply-adds are 50*16 + 16*4 (mean) + 16*4 (log-variance) +
    4*16 + 16*50 = 1792; backward repeats them for the weights (1792) and for the
    inputs of every layer but the first (1792 - 800 = 992)."""
    spec = FeatureSpec(("a", "b"), tuple(
        Feature(f"items_{d}", "multi_valued", domain=d,
                vocabulary=tuple(f"{d}{i}" for i in range(n))) for d, n in (("a", 20), ("b", 30))))
    model_spec = MODELS.get("multivae")
    config = dataclasses.replace(model_spec.config_cls(), hidden_dims=(16,), latent_dim=4,
                                 batch_size=8, click_inputs="dense")
    model = model_spec.create(config, spec, seed=0)
    rng = np.random.default_rng(0)
    batch = {f"items_{d}": np.char.add(d, rng.integers(0, n, (8, 3)).astype(str)).astype(object)
             for d, n in (("a", 20), ("b", 30))}
    model.train_on_batch(batch)
    assert throughput.step_flops(model, batch) == 2 * 8 * (1792 + 1792 + 992)


class Heads(keras.layers.Layer):
    """An Einsum op, as attention's projections are: [B, T, 4] -> [B, T, 2, 3]."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(2, 3, 4))

    def call(self, x):
        return tf.einsum("abe,cde->abcd", x, self.kernel)


def test_einsum_flops_use_the_shapes_at_run_time(throughput):
    """A sequence whose length the traced graph does not know (a ragged batch
    padded inside the step): 'abe,cde->abcd' on [2, 5, 4] x [2, 3, 4] is 2*5*4*2*3
    = 240 multiply-adds forward and as many for the kernel's gradient (the input's
    is computed by no one, so not counted)."""
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, Heads()(inputs))
    model.compile(optimizer="sgd", loss="mse")
    graph = tf.function(model.train_step).get_concrete_function(
        (tf.ones((2, 5, 4)), tf.zeros((2, 5, 2, 3)))).graph
    assert "Einsum" in {op.type for op in graph.get_operations()}

    class Padded(keras.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def train_step(self, data):
            x, y = data
            return self.inner.train_step((x.to_tensor(), y))

    x = tf.RaggedTensor.from_row_lengths(tf.ones((8, 4)), [5, 3])
    y = tf.zeros((2, 5, 2, 3))
    model.train_on_batch(x.to_tensor(), y)
    assert throughput.step_flops(Padded(model), (x, y)) == 2 * 2 * 240


def test_xla_is_timed_on_the_batches_of_the_commonest_shape(throughput):
    batches = [{"items": np.zeros((2, length), np.int32), "user": np.zeros(2, np.int32)}
               for length in (5, 7, 5, 9, 5, 7)]
    kept = throughput.commonest_shape(batches)
    assert [batch["items"].shape for batch in kept] == [(2, 5)] * 3


def test_step_profile_names_the_layer_that_made_each_op():
    profile = load_with_siblings("step_profile")
    assert profile.stage("attention/MatMul") == "attention"
    assert profile.stage("gradient_tape/attention/MatMul_1") == "gradient_tape/attention"
    assert profile.stage("gradient_tape/blocks_0_2_1/MatMul") == "gradient_tape/blocks"
    assert profile.stage("adam_5/Mul_3") == "adam"
    assert profile.stage("MatMul") == "(step)"
    events = [("attention/MatMul", "MatMul", 2.0), ("attention/Read", "ReadVariableOp", 9.0),
              ("adam/Mul", "Mul", 1.0), ("gradient_tape/attention/M", "MatMul", 3.0)]
    assert profile.totals(events, lambda name, kind: kind) == [("MatMul", 5.0), ("Mul", 1.0)]


def test_fit_steps_rows_give_the_first_step_apart_from_the_median_of_the_rest():
    script = load_with_siblings("fit_steps")
    # Steps of 0.5, 0.1, 0.3 and 0.2 s: first 500 ms, median of the rest 200 ms.
    epochs = [{"times": [10.0, 10.5, 10.6, 10.9, 11.1], "traces": 1}]
    assert script.rows(epochs) == ["| 1 | 4 | 1 | 500.0 | 200.0 | 1.10 |"]


def test_fit_steps_names_a_domain_the_data_lacks_in_one_line(tmp_path, capsys):
    csv = tmp_path / "clicks.csv"
    csv.write_text("user_id,item_id,domain\nu1,a1,A\nu1,b1,B\n")
    script = load_with_siblings("fit_steps")
    code = script.main(["multivae", "--dataset", str(csv), "--domains", "A,C",
                        "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fit_steps.py: error: ") and "'C'" in err and "\n" not in err
