"""DAAN's building blocks: field gates, Deep & Cross tower, gated networks, shared +
specific embeddings."""

import keras
import numpy as np
import pytest

from tfxdr.layers import DeepCross, DomainAwareEmbedding, FieldGate, GatedCrossNetwork


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_field_gate_by_hand_with_one_mlp_per_field_by_default():
    gate = FieldGate(hidden_units=(2,))
    fields = np.array([[[1.0, -1.0], [0.5, 2.0]]], np.float32)  # B=1, F=2, K=2
    gate.build(fields.shape)
    k0 = np.array([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [-1.0, 0.0]]], np.float32)
    b0 = np.array([[0.0, 0.5], [0.0, 0.0]], np.float32)
    k1 = np.array([[[1.0], [-1.0]], [[0.5], [0.5]]], np.float32)
    b1 = np.array([[0.1], [-0.2]], np.float32)
    for variable, value in zip([*gate.kernels, *gate.biases], [k0, k1, b0, b1]):
        variable.assign(value)
    gated, gates = gate(fields)
    expected = []
    for j in range(2):
        hidden = _sigmoid(fields[0, j] @ k0[j] + b0[j])
        expected.append(_sigmoid(hidden @ k1[j] + b1[j])[0])
    np.testing.assert_allclose(np.asarray(gates)[0], expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gated)[0], fields[0] * np.array(expected)[:, None],
                               rtol=1e-6)
    # Field 1's weights do not move field 0's gate.
    gate.kernels[0].assign(k0 * np.array([1.0, 3.0])[:, None, None])
    np.testing.assert_allclose(np.asarray(gate(fields)[1])[0, 0], expected[0], rtol=1e-6)
    assert np.asarray(gate(fields)[1])[0, 1] != pytest.approx(expected[1])


def test_field_gate_shares_one_mlp_across_fields_when_asked():
    gate = FieldGate(hidden_units=(2,), per_field=False)
    fields = np.array([[[1.0, -1.0], [0.5, 2.0], [1.0, -1.0]]], np.float32)
    gate.build(fields.shape)
    assert gate.kernels[0].shape == (2, 2) and gate.biases[1].shape == (1,)
    kernel_0, kernel_1 = (np.asarray(k) for k in gate.kernels)
    gates = np.asarray(gate(fields)[1])[0]
    expected = _sigmoid(_sigmoid(fields[0] @ kernel_0) @ kernel_1)[:, 0]
    np.testing.assert_allclose(gates, expected, rtol=1e-6)
    assert gates[0] == gates[2]  # equal embeddings, equal gates


def test_per_field_kernels_start_at_the_scale_of_one_field():
    limit = np.sqrt(6.0 / (64 + 32))  # Glorot uniform for a 64 x 32 kernel
    gate = FieldGate(hidden_units=(32,), per_field=True)
    gate.build((None, 50, 64))
    kernel = np.asarray(gate.kernels[0])
    assert kernel.shape == (50, 64, 32)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit


def test_deep_cross_is_feature_cross_then_fcn_on_the_crossed_output():
    x = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]], np.float32)
    w = np.array([0.2, -0.1, 0.4], np.float32)
    # Eq. 2's rank-one cross, x0 (x^T w) + x, is FeatureCross with W = 1 w^T and no bias.
    tower = DeepCross(cross_layers=2, hidden_units=())
    tower(x)  # creates the weights
    for cross in tower.crosses:
        cross.dense.kernel.assign(np.tile(w, (3, 1)).T)  # Dense computes x @ kernel
        cross.dense.bias.assign(np.zeros(3, np.float32))
    x1 = x * (x @ w)[:, None] + x
    x2 = x * (x1 @ w)[:, None] + x1
    np.testing.assert_allclose(np.asarray(tower(x)), x2, rtol=1e-5)

    # With zero cross kernels the crosses pass x through, and the FCN reads it.
    tower = DeepCross(cross_layers=2, hidden_units=(4,))
    tower(x)
    for cross in tower.crosses:
        cross.dense.kernel.assign(np.zeros((3, 3), np.float32))
    kernel, bias = (np.asarray(v) for v in tower.fcn[0].weights)
    out = np.asarray(tower(x))
    assert out.shape == (2, 4 + 3)
    np.testing.assert_allclose(out, np.concatenate([np.maximum(x @ kernel + bias, 0), x], 1),
                               rtol=1e-5)


def test_rank_one_cross_is_eq_2_when_its_up_projection_is_ones():
    x = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]], np.float32)
    w = np.array([0.2, -0.1, 0.4], np.float32)
    tower = DeepCross(cross_layers=1, hidden_units=(), projection_dim=1)
    tower(x)
    cross = tower.crosses[0]
    cross.down_proj_dense.kernel.assign(w[:, None])  # v: x -> v.x
    cross.dense.kernel.assign(np.ones((1, 3), np.float32))  # u = 1
    cross.dense.bias.assign(np.zeros(3, np.float32))
    np.testing.assert_allclose(np.asarray(tower(x)), x * (x @ w)[:, None] + x, rtol=1e-5)


def test_deep_cross_trains_its_cross_kernels():
    tower = DeepCross(cross_layers=2, hidden_units=(4,))
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(tower(inputs)))
    model.compile(optimizer="adam", loss="mse")
    before = [np.array(c.dense.kernel) for c in tower.crosses]
    model.fit(np.ones((8, 3), np.float32), np.ones((8, 1)), epochs=1, verbose=0)
    assert all(not np.array_equal(b, np.array(c.dense.kernel))
               for b, c in zip(before, tower.crosses))
    assert len(model.trainable_weights) == len(tower.trainable_weights) + 2


def _zero_crosses(tower: DeepCross):
    """Cross kernels and biases at zero: every cross layer passes its input through."""
    for cross in tower.crosses:
        cross.dense.kernel.assign(np.zeros(cross.dense.kernel.shape, np.float32))
        cross.dense.bias.assign(np.zeros(cross.dense.bias.shape, np.float32))


def test_gated_cross_network_gates_each_field_then_flattens_into_the_tower():
    fields = np.array([[[1.0, -2.0], [3.0, 4.0]]], np.float32)  # B=1, F=2, K=2
    network = GatedCrossNetwork(gate_units=(2,), cross_layers=1, fcn_units=())
    network.build(fields.shape)
    _zero_crosses(network.tower)
    # Zero gate kernels: the hidden layer is sigmoid(0) = 0.5 and the gate is
    # sigmoid(final bias): 0 -> 0.5 for field 0, ln 3 -> 0.75 for field 1.
    for kernel in network.gate.kernels:
        kernel.assign(np.zeros(kernel.shape, np.float32))
    network.gate.biases[1].assign(np.array([[0.0], [np.log(3.0)]], np.float32))
    output, gates = network(fields)
    np.testing.assert_allclose(np.asarray(gates), [[0.5, 0.75]], rtol=1e-6)
    # Fields flattened in order: [0.5 * (1, -2), 0.75 * (3, 4)].
    np.testing.assert_allclose(np.asarray(output), [[0.5, -1.0, 2.25, 3.0]], rtol=1e-6)
    assert network.output_width(2, 2) == 4


def test_ungated_network_is_the_tower_on_the_plain_fields():
    fields = np.array([[[1.0, -2.0], [3.0, 4.0]]], np.float32)
    network = GatedCrossNetwork(gated=False, cross_layers=2, fcn_units=(3,),
                                projection_dim=1)
    network.build(fields.shape)
    assert network.gate is None
    assert all(cross.down_proj_dense is not None for cross in network.tower.crosses)
    _zero_crosses(network.tower)
    output, gates = network(fields)
    assert gates is None
    kernel, bias = (np.asarray(v) for v in network.tower.fcn[0].weights)
    flat = fields.reshape(1, 4)
    # FCN(x) || x, the crosses passing x through.
    np.testing.assert_allclose(np.asarray(output),
                               np.concatenate([np.maximum(flat @ kernel + bias, 0), flat], 1),
                               rtol=1e-5)
    assert network.output_width(2, 2) == 3 + 4


def _embedding(specific_dim=2):
    return DomainAwareEmbedding(
        {"user_id": 3, "user_age": 2, "item_id": 5, "item_genres": 4},
        fields=["user_age", "user_id", "item_id", "item_genres", "history_0"],
        shared={"history_0": "item_id"}, shared_dim=3, specific_dim=specific_dim,
        num_domains=2)


def test_domain_aware_embedding_concatenates_shared_and_the_domain_specific_part():
    layer = _embedding()
    layer.build()
    assert layer.output_dim == 5
    inputs = {"user_id": np.array([1, 2]), "user_age": np.array([1, 0]),
              "item_id": np.array([4, 2]), "item_genres": np.array([[1, 3], [0, 0]]),
              "history_0": np.array([[0, 2, 4], [0, 0, 1]]), "domain": np.array([0, 1])}
    out = np.asarray(layer(inputs))
    assert out.shape == (2, 5, 5)
    shared = {t: np.asarray(e.embeddings) for t, e in layer.common.embeddings.items()}
    specific = {t: np.asarray(e.embeddings) for t, e in layer.specific.embeddings.items()}
    # Histories use the item table: no table of their own.
    assert set(shared) == {"user_id", "user_age", "item_id", "item_genres"}
    # One specific table of rows x domains per table: row r of domain d is r + d * rows.
    assert specific["user_id"].shape == (3 * 2, 2) and specific["item_id"].shape == (5 * 2, 2)
    np.testing.assert_allclose(out[1, 1], np.concatenate([shared["user_id"][2],
                                                          specific["user_id"][2 + 3]]))
    np.testing.assert_allclose(out[0, 2], np.concatenate([shared["item_id"][4],
                                                          specific["item_id"][4]]))
    np.testing.assert_allclose(out[0, 0], np.concatenate([shared["user_age"][1],
                                                          specific["user_age"][1]]))
    # Bags average their non-padding values; an empty bag is zeros.
    np.testing.assert_allclose(out[0, 3, :3],
                               (shared["item_genres"][1] + shared["item_genres"][3]) / 2,
                               rtol=1e-6)
    np.testing.assert_allclose(out[1, 3], np.zeros(5))
    np.testing.assert_allclose(out[0, 4, 3:],
                               (specific["item_id"][2] + specific["item_id"][4]) / 2, rtol=1e-6)
    np.testing.assert_allclose(out[1, 4], np.concatenate([shared["item_id"][1],
                                                          specific["item_id"][1 + 5]]),
                               rtol=1e-6)


def test_domain_aware_embedding_without_specific_part_needs_no_domain():
    layer = _embedding(specific_dim=0)
    layer.build()
    out = np.asarray(layer({"user_id": np.array([1]), "user_age": np.array([1]),
                            "item_id": np.array([2]), "item_genres": np.array([[2, 0]]),
                            "history_0": np.array([[3, 0, 0]])}))
    assert out.shape == (1, 5, 3) and layer.specific is None and layer.output_dim == 3
    np.testing.assert_allclose(out[0, 4], np.asarray(layer.common.embeddings["item_id"]
                                                     .embeddings)[3])
