"""Click vectors read as bags: the same numbers as the dense vectors, at the cost of
the clicks."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxdr.layers import MultiHot
from tfxdr.losses import (bag_multinomial_log_likelihood, bag_reconstruction_log_likelihood,
                          multinomial_log_likelihood, reconstruction_log_likelihood)
from tfxdr.models import MODELS
from tfxdr.ops import dense_on_bag
from tfxdr.optimizers import FusedAdam
from test_keras_saving import click_spec


def test_a_bag_lists_each_known_item_once():
    # 0 pads, 1 is unknown, index 2 + i is item i; 4 comes twice in the first row.
    positions, present = MultiHot(4).bag(tf.constant([[4, 0, 2, 4, 1], [5, 0, 0, 0, 0]]))
    rows = [sorted(int(p) for p, m in zip(pos, mask) if m)
            for pos, mask in zip(np.asarray(positions), np.asarray(present))]
    assert rows == [[0, 2], [3]]


def test_a_dense_layer_on_a_bag_equals_it_on_the_vector():
    layer = keras.layers.Dense(3, activation="tanh")
    layer.build((None, 5))
    positions = tf.constant([[1, 4, 0], [2, 0, 0], [0, 0, 0]])
    weights = tf.constant([[0.5, 2.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    # x = 0.5 e_1 + 2 e_4; e_2; the empty row.
    x = np.zeros((3, 5), "float32")
    x[0, 1], x[0, 4], x[1, 2] = 0.5, 2.0, 1.0
    np.testing.assert_allclose(dense_on_bag(layer, positions, weights), layer(x), rtol=1e-6)
    kernel, bias = (np.asarray(w) for w in layer.weights)
    np.testing.assert_allclose(np.asarray(dense_on_bag(layer, positions, weights))[0],
                               np.tanh(0.5 * kernel[1] + 2.0 * kernel[4] + bias), rtol=1e-6)


def test_the_likelihood_of_a_bag_reads_the_log_softmax_at_its_clicks():
    logits = tf.constant([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    positions = tf.constant([[2, 0], [1, 2]])
    present = tf.constant([[True, False], [True, True]])
    log_softmax = np.log(np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    expected = [log_softmax[2], 2 * np.log(1 / 3)]
    np.testing.assert_allclose(bag_multinomial_log_likelihood(positions, present, logits),
                               expected, rtol=1e-6)
    clicks = tf.constant([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    np.testing.assert_allclose(multinomial_log_likelihood(clicks, logits), expected, rtol=1e-6)
    # D2D-TM's other likelihoods (its Figure 6), from the bag, equal the dense ones.
    for kind in ("multinomial", "logistic", "square"):
        np.testing.assert_allclose(
            bag_reconstruction_log_likelihood(kind, positions, present, logits),
            reconstruction_log_likelihood(kind, clicks, logits), rtol=1e-6, err_msg=kind)
    # By hand: logistic, row 1: log(1 - s(0)) at 0, log s(0) at 1 and 2; square, row 0.
    np.testing.assert_allclose(
        bag_reconstruction_log_likelihood("logistic", positions, present, logits)[1],
        3 * np.log(0.5), rtol=1e-6)
    np.testing.assert_allclose(
        bag_reconstruction_log_likelihood("square", positions, present, logits)[0],
        -(1.0 + 4.0 + 4.0), rtol=1e-6)


SMALL = {"multivae": dict(hidden_dims=(8,), latent_dim=3, dropout=0.0),
         "d2dtm": dict(private_dims=(4,), shared_dims=(3,), latent_dim=2,
                       discriminator_dims=(3,), input_dropout=0.0)}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_model_on_bags_has_the_losses_gradients_and_scores_of_the_dense_vectors(name):
    spec = MODELS.get(name)
    config = dataclasses.replace(spec.config_cls(), **SMALL[name])
    models = {}
    for sparse in (True, False):
        models[sparse] = spec.create(dataclasses.replace(
            config, click_inputs="bags" if sparse else "dense"), click_spec(), seed=0)
    auto = dataclasses.replace(config, click_inputs="auto")  # bags from 10,000 items
    assert not auto.reads_bags(11) and auto.reads_bags(10_000)
    models[False].set_weights(models[True].get_weights())
    # Repeats, an unknown id and padding, and a user with no books.
    batch = {"items_movies": tf.constant([["m1", "m3", "m3", "zz"], ["m5", "", "", ""],
                                          ["", "", "", ""]]),
             "items_books": tf.constant([["b0", "b4"], ["", ""], ["b2", "b2"]])}
    results = {}
    for sparse, model in models.items():
        with tf.GradientTape(persistent=True) as tape:
            losses = model.compute_losses((batch,), training=False)
        gradients = [tape.gradient(losses[term], model.trainable_variables)
                     for term in ("loss", "d_loss") if term in losses]
        results[sparse] = (losses, gradients,
                           [model.translate(batch, s, t) for s, t in ((0, 1), (1, 0))])
    (sparse_losses, sparse_grads, sparse_scores), (dense_losses, dense_grads, dense_scores) = \
        results[True], results[False]
    assert set(sparse_losses) == set(dense_losses)
    for name in sparse_losses:
        np.testing.assert_allclose(sparse_losses[name], dense_losses[name], rtol=1e-5,
                                   atol=1e-7, err_msg=name)
    for sparse_term, dense_term in zip(sparse_grads, dense_grads):
        for a, b in zip(sparse_term, dense_term):
            if b is None:
                assert a is None
                continue
            np.testing.assert_allclose(tf.convert_to_tensor(a), b, rtol=1e-4, atol=1e-7)
    for a, b in zip(sparse_scores, dense_scores):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_training_on_bags_equals_training_on_dense_vectors_with_fused_adam(name):
    spec = MODELS.get(name)
    config = dataclasses.replace(spec.config_cls(), **SMALL[name])
    # m1 and b2 clicked by two users: their kernel rows get a sparse gradient in two parts.
    batch = {"items_movies": tf.constant([["m1", "m3"], ["m1", "m5"], ["m2", ""]]),
             "items_books": tf.constant([["b0", "b2"], ["b2", ""], ["b4", ""]])}
    weights, start = {}, None
    for update in ("fused", "keras"):
        for inputs in ("bags", "dense"):
            model = spec.create(dataclasses.replace(config, click_inputs=inputs,
                                                    adam_update=update), click_spec(), seed=0)
            assert isinstance(model.optimizer, FusedAdam) == (update == "fused")
            start = start or model.get_weights()
            model.set_weights(start)
            for _ in range(2):
                model.train_on_batch(batch)
            weights[update, inputs] = model.get_weights()
    for a, b in zip(weights["fused", "bags"], weights["fused", "dense"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # Keras's Adam takes the two parts' squares for the square of their sum (D2D-TM's
    # encoders also read the dense generated vectors: their gradient is dense anyway).
    if name == "multivae":
        assert not all(np.allclose(a, b, rtol=1e-4, atol=1e-6)
                       for a, b in zip(weights["keras", "bags"], weights["keras", "dense"]))


def test_auto_fuses_adam_when_a_model_reads_bags():
    spec = MODELS.get("d2dtm")
    config = dataclasses.replace(spec.config_cls(), **SMALL["d2dtm"])
    for inputs, fused in (("bags", True), ("dense", False)):
        model = spec.create(dataclasses.replace(config, click_inputs=inputs), click_spec(), 0)
        assert model.fuses_adam() is fused
        assert {type(model.optimizer), type(model.d_optimizer)} == \
            {FusedAdam if fused else keras.optimizers.Adam}
