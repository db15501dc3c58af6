"""Keras serialisation: every layer and every registered model survives a round trip.

A layer is serialised to JSON and back, built from its build config, given the
original's weights, and must compute the same outputs; its weights must all exist
once it is built, before any call (a checkpoint restores only variables that
exist).  A model is trained for two steps, saved as ``.keras`` and loaded: it must
score raw requests as before, with the same config, and both optimizers must carry
on where they stopped.
"""

import dataclasses
import json
import math
from typing import Callable

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfxdr.layers
from tfxdr.features import EntityTable, Feature, FeatureSpec
from tfxdr.layers import (AttentionPooling, BiInteractionPooling, ConvETranslation, DeepCross,
                          DomainAwareEmbedding, DomainClassifier, FeaturePreprocessor,
                          FieldEmbedding, FieldGate,
                          GatedCrossNetwork, GaussianSample, GradientReversal, MultiHot,
                          SequenceEmbedding, UnknownIdDropout)
from tfxdr.models import MODELS, Phase
from tfxdr.models.dadin import DadinDomainClassifiers


# -- tiny specs ----------------------------------------------------------------

def click_spec() -> FeatureSpec:
    """Two domains of clicked items."""
    return FeatureSpec(("movies", "books"), (
        Feature("items_movies", "multi_valued", vocabulary=tuple(f"m{i}" for i in range(6)),
                domain="movies"),
        Feature("items_books", "multi_valued", vocabulary=tuple(f"b{i}" for i in range(5)),
                domain="books")))


def ctr_spec() -> FeatureSpec:
    """Users with an age (continuous, one missing) and a gender, items with genres;
    u5 and b3 are in the tables but not in the id vocabularies (never in training)."""
    users = tuple(f"u{i}" for i in range(6))
    items = ("m0", "m1", "m2", "m3", "b0", "b1", "b2", "b3")
    features = (
        Feature("user_id", "categorical", vocabulary=users[:5], entity="user"),
        Feature("item_id", "categorical", vocabulary=items[:7], entity="item"),
        Feature("domain", "domain"),
        Feature("history_movies", "history", width=3, table="item_id", domain="movies"),
        Feature("history_books", "history", width=3, table="item_id", domain="books"),
        Feature("user_age", "continuous", boundaries=(20.0, 30.0, 40.0), entity="user",
                key="user_id"),
        Feature("user_gender", "categorical", vocabulary=("F", "M"), entity="user",
                key="user_id"),
        Feature("item_genres", "multi_valued", vocabulary=("a", "b", "c"), width=2,
                entity="item", key="item_id"),
    )
    tables = {
        "user_id": EntityTable(users, {"user_age": (18.0, 25.0, math.nan, 35.0, 45.0, 50.0),
                                       "user_gender": ("F", "M", "F", "", "M", "F")}),
        "item_id": EntityTable(items, {"item_genres": (("a",), ("b", "c"), (), ("a", "c"),
                                                       ("b",), ("c",), ("a", "b", "c"), ())}),
    }
    return FeatureSpec(("movies", "books"), features, tables)


def sequence_spec() -> FeatureSpec:
    """Users and two domains' items, as the sequence task writes them."""
    return FeatureSpec(("movies", "books"), (
        Feature("user_id", "categorical", vocabulary=("u0", "u1", "u2"), entity="user"),
        Feature("items_movies", "multi_valued", vocabulary=tuple(f"m{i}" for i in range(6)),
                domain="movies", entity="item"),
        Feature("items_books", "multi_valued", vocabulary=tuple(f"b{i}" for i in range(5)),
                domain="books", entity="item")))


def sequence_request():
    """Recent items, oldest first, left-padded; a user without books, an unknown id."""
    return {"user_id": tf.constant(["u0", "u1", "u2", "u9"]),
            "items_movies": tf.constant([["", "m0", "m1", "m2", "m3"], ["m2", "m9", "m3", "m4",
                                                                         "m5"],
                                         ["", "", "", "m4", "m1"], ["", "", "m5", "m0", "m1"]]),
            "items_books": tf.constant([["", "", "", "b0", "b1"], ["b1", "b2", "b3", "b4", "b0"],
                                        ["", "", "", "", ""], ["", "", "", "b0", "bx"]])}


def matching_batch():
    """A sequence request with the clicks that followed, as a matching batch holds."""
    return {**sequence_request(),
            "positives_movies": tf.constant([["m4", "m5"], ["m0", ""], ["m2", "m9"], ["", ""]]),
            "positives_books": tf.constant([["b2", ""], ["", ""], ["b0", "b3"], ["b1", ""]])}


def click_request():
    return {"items_movies": tf.constant([["m0", "m1", ""], ["m2", "m9", "m3"], ["m4", "", ""],
                                         ["m5", "m0", "m1"]]),
            "items_books": tf.constant([["b0", ""], ["b1", "b2"], ["b3", "b4"], ["b0", "bx"]])}


def ctr_request():
    """Known and unknown users and items (u9, zz), both domains, empty histories."""
    return {"user_id": tf.constant(["u0", "u1", "u5", "u9"]),
            "item_id": tf.constant(["m0", "b1", "b3", "zz"]),
            "domain": tf.constant(["movies", "books", "books", "movies"]),
            "history_movies": tf.constant([["", "m1", "m2"], ["", "", ""], ["m3", "m0", "m1"],
                                           ["", "", "m2"]]),
            "history_books": tf.constant([["", "", "b0"], ["b2", "b1", "b0"], ["", "", ""],
                                          ["", "b9", "b2"]])}


# -- layers ----------------------------------------------------------------------

@dataclasses.dataclass
class LayerCase:
    make: Callable[[], keras.layers.Layer]
    build_args: tuple
    run: Callable  # (layer) -> outputs (any nesting of tensors)
    num_weights: int


def _indices():
    return {"user_id": tf.constant([1, 3, 0]), "item_id": tf.constant([2, 4, 1]),
            "item_genres": tf.constant([[2, 1], [0, 0], [1, 2]]),
            "history": tf.constant([[0, 2, 3], [0, 0, 0], [4, 1, 2]]),
            "domain": tf.constant([0, 1, 1])}


_RNG = np.random.default_rng(0)
FIELDS = tf.constant(_RNG.normal(size=(3, 3, 2)), tf.float32)
FEATURES = tf.constant(_RNG.normal(size=(3, 2)), tf.float32)


def _with_gradient(fn):
    """Outputs of ``fn(x)`` and their gradient with respect to x (so that a reversal's
    scale, invisible in the forward pass, is compared too)."""
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = fn(x)
            total = sum(tf.reduce_sum(v) for v in tf.nest.flatten(out))
        return out, tape.gradient(total, x)
    return run


LAYER_CASES = {
    # projection W (kernel, bias) and score h (kernel)
    "AttentionPooling": LayerCase(
        lambda: AttentionPooling(hidden_units=3),
        ((None, None, 2), (None, 2), None, (None, 2)),
        lambda layer: layer(FIELDS, FEATURES, tf.constant([[True, True, False]] * 3),
                            context=FEATURES[::-1], return_weights=True), 3),
    # one scale per field
    "BiInteractionPooling": LayerCase(
        lambda: BiInteractionPooling(absolute=True), ((None, 3, 2),),
        lambda layer: layer(FIELDS), 1),
    # convolution (kernel, bias) and projection W_c (kernel, bias); dropout seeded alike
    "ConvETranslation": LayerCase(
        lambda: ConvETranslation(3, image_shape=(2, 2), filters=2, kernel_size=2, dropout=0.5),
        ((None, 4), (None, 4)),
        lambda layer: layer(tf.reshape(FIELDS[:, :2], (3, 4)), tf.reshape(FIELDS[:, 1:], (3, 4))),
        4),
    # 2 rank-one crosses (down projection, up projection and its bias), 1 FCN layer
    "DeepCross": LayerCase(
        lambda: DeepCross(cross_layers=2, hidden_units=(3,), projection_dim=1),
        ((None, 4),), lambda layer: layer(tf.reshape(FIELDS[:, :2], (3, 4))), 2 * 3 + 2),
    # shared and specific tables of user_id, item_id and item_genres
    "DomainAwareEmbedding": LayerCase(
        lambda: DomainAwareEmbedding({"user_id": 4, "item_id": 5, "item_genres": 3},
                                     ["user_id", "item_id", "item_genres", "history"],
                                     shared={"history": "item_id"}, shared_dim=2,
                                     specific_dim=1, num_domains=2),
        (), lambda layer: layer(_indices()), 6),
    # a 3-way classifier (kernel, bias) behind a reversal (its warm-up variable)
    "DomainClassifier": LayerCase(
        lambda: DomainClassifier(3, reversal_scale=0.5, input_activation="tanh"),
        ((None, 2),),
        lambda layer: _with_gradient(lambda x: layer(x, tf.constant([0, 2, 1])))(FEATURES),
        3),
    # vocabulary lookups hold no variables
    "FeaturePreprocessor": LayerCase(
        lambda: FeaturePreprocessor(ctr_spec()), (), lambda layer: layer(ctr_request()), 0),
    # one table per name in `tables`
    "FieldEmbedding": LayerCase(
        lambda: FieldEmbedding({"user_id": 4, "item_id": 5}, 2, shared={"history": "item_id"},
                               bag_pooling="mean"),
        (), lambda layer: layer(_indices(), names=["user_id", "item_id", "history"]), 2),
    # one MLP shared by the fields: 2 kernels, 2 biases
    "FieldGate": LayerCase(
        lambda: FieldGate(hidden_units=(3,), hidden_activation="relu", per_field=False),
        ((None, 3, 2),), lambda layer: layer(FIELDS), 4),
    # gate (2 kernels, 2 biases) + one rank-one cross (3) + one FCN layer (2)
    "GatedCrossNetwork": LayerCase(
        lambda: GatedCrossNetwork(gate_units=(2,), gate_activation="relu", cross_layers=1,
                                  fcn_units=(3,), projection_dim=1),
        ((None, 3, 2),), lambda layer: layer(FIELDS), 4 + 3 + 2),
    # no weights (a seed generator's state is not one): the copy, seeded alike,
    # draws the same noise
    "GaussianSample": LayerCase(
        lambda: GaussianSample(seed=3), ((None, 2),),
        lambda layer: layer(FEATURES, FEATURES, training=True), 0),
    # the warm-up variable
    "GradientReversal": LayerCase(
        lambda: GradientReversal(scale=0.7), ((None, 2),),
        lambda layer: _with_gradient(layer)(FEATURES), 1),
    # items and positions, layer normalisation (gamma, beta)
    "SequenceEmbedding": LayerCase(
        lambda: SequenceEmbedding(4, 6, 3, num_extra=2, dropout=0.5), (),
        lambda layer: layer(tf.constant([[0, 2, 5, 6], [1, 3, 4, 7]]), offset=1), 4),
    # a category encoding, no weights
    "MultiHot": LayerCase(
        lambda: MultiHot(4), (),
        lambda layer: layer(tf.constant([[2, 5, 5, 0, 1], [0, 0, 0, 0, 3]])), 0),
    # no weights; seeded alike, the copy drops the same ids
    "UnknownIdDropout": LayerCase(
        lambda: UnknownIdDropout(0.5, seed=7), ((None, 8),),
        lambda layer: layer(tf.constant([[0, 1, 2, 3, 4, 5, 6, 7]] * 4), training=True), 0),
    # global, positive and negative classifiers (kernel, bias, warm-up each)
    "DadinDomainClassifiers": LayerCase(
        lambda: DadinDomainClassifiers(scale=0.5, threshold=0.4, input_activation="tanh"),
        ((None, 2),),
        lambda layer: _with_gradient(
            lambda x: layer(x, tf.constant([0.9, 0.1, 0.4]), tf.constant([1, 0, 1])))(FEATURES),
        9),
}


def test_every_layer_of_the_package_has_a_round_trip_case():
    layers = {name for name in tfxdr.layers.__all__
              if isinstance(getattr(tfxdr.layers, name), type)
              and issubclass(getattr(tfxdr.layers, name), keras.layers.Layer)}
    assert layers == set(LAYER_CASES) - {"DadinDomainClassifiers"}
    # ReversalWarmup is the one non-layer export: a callback, not serialised.
    assert set(tfxdr.layers.__all__) - layers == {"ReversalWarmup"}


def _perturb(layer):
    """Random values in every trainable weight, so that a copy that missed one differs."""
    rng = np.random.default_rng(1)
    for weight in layer.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype(weight.dtype))


def _assert_same_outputs(expected, actual):
    tf.nest.assert_same_structure(expected, actual)
    for a, b in zip(tf.nest.flatten(expected), tf.nest.flatten(actual)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_round_trip_and_weights_created_by_build(name):
    case = LAYER_CASES[name]
    layer = case.make()
    layer.build(*case.build_args)
    created = [(w.path, tuple(w.shape)) for w in layer.weights]
    assert len(created) == case.num_weights
    _perturb(layer)

    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    assert serialized["registered_name"] == f"tfxdr>{type(layer).__name__}"
    clone = keras.saving.deserialize_keras_object(serialized)
    assert type(clone) is type(layer) and clone.built  # built from its build config
    assert clone.get_config() == layer.get_config()
    assert [tuple(w.shape) for w in clone.weights] == [shape for _, shape in created]
    clone.set_weights(layer.get_weights())

    expected = case.run(layer)
    _assert_same_outputs(expected, case.run(clone))
    # A call creates nothing: every weight existed after build().
    assert [(w.path, tuple(w.shape)) for w in layer.weights] == created


def test_layer_copy_without_the_weights_computes_something_else():
    """The round trip is not vacuous: the clone's own initial weights give other outputs."""
    case = LAYER_CASES["GatedCrossNetwork"]
    layer = case.make()
    layer.build(*case.build_args)
    _perturb(layer)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert not np.allclose(np.asarray(case.run(layer)[0]), np.asarray(case.run(clone)[0]))


# -- models ------------------------------------------------------------------------

TINY = {
    "aft": dict(max_len=4, dim=4, num_positives=2, num_negatives=3, g_layers=1, g_heads=1,
                d_layers=1, d_heads=2, ffn_dim=4, num_fakes=2, conve_rows=2, conve_filters=2,
                d_steps=2, d_learning_rate=0.05),
    "bert4rec": dict(max_len=4, dim=4, num_layers=1, num_heads=1, ffn_dim=4),
    "bert4rec_matching": dict(max_len=4, dim=4, num_layers=1, num_heads=1, ffn_dim=4),
    "bprmf": dict(max_len=4, dim=3),
    "cnan_at": dict(shared_dim=3, specific_dim=2, gate_units=(2,), fcn_units=(4,)),
    "d2dtm": dict(private_dims=(4,), shared_dims=(3,), latent_dim=2, discriminator_dims=(3,)),
    "d2dtm_paper": dict(private_dims=(4,), shared_dims=(3,), latent_dim=2,
                        discriminator_dims=(3,)),
    "dadin": dict(embedding_dim=3, dnn_hidden=4, predictor_units=3),
    "dann": dict(embedding_dim=3, dnn_hidden=4, predictor_units=3),
    "dann_dcn": dict(shared_dim=3, gate_units=(2,), fcn_units=(4,)),
    "dcn": dict(shared_dim=3, specific_dim=2, gate_units=(2,), fcn_units=(4,)),
    "dcn_finetune": dict(shared_dim=3, specific_dim=2, gate_units=(2,), fcn_units=(4,)),
    "deepfm": dict(embedding_dim=3, hidden_units=(4,)),
    "din": dict(embedding_dim=3, hidden_units=(4,)),
    "ease": dict(l2=(1.0,), epochs=1),
    "fm": dict(max_len=4, dim=3, num_positives=2, num_negatives=3),
    "fm_ctr": dict(embedding_dim=3),
    "itemknn": dict(shrink=(0.0,), epochs=1),
    "lr": dict(),
    "mmoe": dict(max_len=4, dim=3, num_positives=2, num_negatives=3, num_experts=2,
                 expert_units=(4,), tower_units=(3,)),
    "multivae": dict(hidden_dims=(4,), latent_dim=2),
    "pop": dict(),
    "pop_match": dict(max_len=4, num_positives=2),
    "pop_seq": dict(max_len=4),
    # (the step size of the adversarial phase's players, whose steps are taken)
    "recguru": dict(max_len=4, dim=4, num_layers=1, num_heads=1, ffn_dim=4, critic_dim=3,
                    critic_layers=2, adversarial_learning_rate=0.05, d_learning_rate=0.05),
    "recguru_single": dict(max_len=4, dim=4, num_layers=1, num_heads=1, ffn_dim=4,
                           adversarial_learning_rate=0.05),
    "ridge": dict(l2=(1.0,), epochs=1),
    "sasrec": dict(max_len=4, dim=4, num_layers=1, num_heads=1, ffn_dim=4),
    "shared_bottom": dict(max_len=4, dim=3, num_positives=2, num_negatives=3,
                          bottom_units=(4,), tower_units=(3,)),
    "two_tower": dict(max_len=4, dim=3, num_positives=2, num_negatives=3, hidden_units=(4,)),
}
SPECS = {"clicks": click_spec, "ctr": ctr_spec, "matching": sequence_spec,
         "sequences": sequence_spec}
REQUESTS = {"clicks": click_request, "ctr": ctr_request, "matching": matching_batch,
            "sequences": sequence_request}


def test_every_registered_model_has_a_saving_case():
    assert set(TINY) == set(MODELS.names())


def _scores(model, request):
    task = MODELS.get(model.registered_as).task
    if task == "clicks":
        return [np.asarray(model.translate(request, 0, 1)),
                np.asarray(model.translate(request, 1, 0))]
    if task in ("sequences", "matching"):
        return [np.asarray(model.score_next(request, 0)),
                np.asarray(model.score_next(request, 1))]
    return [np.asarray(model(request))]


def _optimizer_state(optimizer):
    return [np.array(v) for v in optimizer.variables]


@pytest.mark.parametrize("name", sorted(TINY))
def test_model_keras_file_round_trip(name, tmp_path):
    registered = MODELS.get(name)
    keras.utils.set_random_seed(0)  # the dropout masks of the two steps, as training seeds them
    # A large step, so that two steps visibly change every model's scores.
    config = registered.config_cls(**TINY[name], learning_rate=0.05)
    model = registered.create(config, SPECS[registered.task](), seed=0)
    request = REQUESTS[registered.task]()
    untrained = _scores(model, request)
    batch = (request, tf.constant([1.0, 0.0, 1.0, 0.0])) if registered.task == "ctr" \
        else request
    if registered.task == "sequences" and model.phase_optimizers:
        model.start_phase(Phase(1, name="adversarial"))  # both players take steps
    model.run_eagerly = True  # two tiny steps: cheaper than tracing
    model.fit(tf.data.Dataset.from_tensors(batch).repeat(2), epochs=1, verbose=0, shuffle=False)
    trained = _scores(model, request)
    # Training changed the scores, so equal scores below need the trained weights.
    assert max(np.abs(a - b).max() for a, b in zip(untrained, trained)) > 1e-3

    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    assert type(loaded) is type(model) and loaded.registered_as == name
    assert loaded.config == model.config
    assert loaded.spec.to_dict() == model.spec.to_dict()
    for a, b in zip(trained, _scores(loaded, request)):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
    # Popularity and the closed-form models count: no optimizer step.
    steps = 0 if name in ("pop", "pop_match", "pop_seq", "ridge", "ease", "itemknn") else 2
    assert int(model.optimizer.iterations) == int(loaded.optimizer.iterations) == steps
    for a, b in zip(_optimizer_state(model.optimizer), _optimizer_state(loaded.optimizer),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    assert (loaded.d_optimizer is None) == (model.d_optimizer is None)
    if model.d_optimizer is not None:
        critic_steps = 0 if name == "recguru_single" else 2 * model.d_steps  # no critic there
        assert int(loaded.d_optimizer.iterations) == int(model.d_optimizer.iterations) == \
            critic_steps
        assert loaded.d_steps == model.d_steps
        for a, b in zip(_optimizer_state(model.d_optimizer),
                        _optimizer_state(loaded.d_optimizer), strict=True):
            np.testing.assert_array_equal(a, b)
    assert sorted(loaded.extra_optimizers) == sorted(model.extra_optimizers)
    for name, optimizer in model.extra_optimizers.items():
        assert loaded.extra_optimizers[name].get_config() == optimizer.get_config()
        for a, b in zip(_optimizer_state(optimizer),
                        _optimizer_state(loaded.extra_optimizers[name]), strict=True):
            np.testing.assert_array_equal(a, b)
