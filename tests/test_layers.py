"""Shared layers on their own: values by hand, the reversed gradient numerically."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxdr.errors import TrainingError
from tfxdr.layers import (AttentionPooling, BiInteractionPooling, DomainClassifier,
                          GradientReversal, ReversalWarmup)
from tfxdr.models.dadin import DadinDomainClassifiers


def _bce(label, logit):
    p = 1 / (1 + np.exp(-np.asarray(logit, np.float64)))
    return -(label * np.log(p) + (1 - label) * np.log(1 - p))


def test_gradient_reversal_forward_identity_backward_reversed_numerically():
    x = tf.constant([[0.3, -1.2, 2.0]], tf.float64)
    w = tf.constant([[1.5, -0.5, 2.0]], tf.float64)
    layer = GradientReversal(scale=0.7, dtype="float64")
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(w * tf.sin(layer(x)))
    reversed_gradient = tape.gradient(value, x).numpy()
    # Central differences of the same function without the layer.
    step = 1e-6
    numeric = np.zeros_like(x.numpy())
    for i in range(x.shape[1]):
        shift = np.zeros_like(x.numpy())
        shift[0, i] = step
        up = np.sum(w.numpy() * np.sin(x.numpy() + shift))
        down = np.sum(w.numpy() * np.sin(x.numpy() - shift))
        numeric[0, i] = (up - down) / (2 * step)
    np.testing.assert_allclose(reversed_gradient, -0.7 * numeric, rtol=1e-6)


def test_gradient_reversal_zero_scale_and_config():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(GradientReversal(scale=0.0)(x) * 3.0)
    np.testing.assert_array_equal(tape.gradient(value, x).numpy(), [0.0, 0.0])
    assert GradientReversal.from_config(GradientReversal(scale=2.5).get_config()).scale == 2.5
    with pytest.raises(ValueError, match="GradientReversal scale=-1 is invalid: "
                                         "expected a number >= 0"):
        GradientReversal(scale=-1)


def _set_attention(layer, history, query, mask, context=None):
    """Weights that make score_t = relu(r_t): W picks r_t, h = 1, no bias."""
    layer(history, query, mask, context=context)
    width = layer.projection.kernel.shape[0]
    kernel = np.zeros((width, 1), np.float32)
    kernel[0, 0] = 1.0
    layer.projection.kernel.assign(kernel)
    layer.projection.bias.assign(np.zeros(1, np.float32))
    layer.score.kernel.assign(np.ones((1, 1), np.float32))


def test_attention_pooling_by_hand_with_padding_and_empty_history():
    history = tf.constant([[[1.0], [2.0], [7.0]], [[5.0], [6.0], [7.0]]])
    query = tf.constant([[0.5], [0.5]])
    mask = tf.constant([[True, True, False], [False, False, False]])
    layer = AttentionPooling(hidden_units=1)
    _set_attention(layer, history, query, mask)
    pooled, weights = layer(history, query, mask, return_weights=True)
    # Scores relu(1), relu(2) on the valid positions: softmax = [1, e] / (1 + e).
    first = 1 / (1 + math.e)
    np.testing.assert_allclose(weights.numpy()[0], [first, 1 - first, 0.0], atol=1e-6)
    np.testing.assert_allclose(pooled.numpy()[0], [first * 1 + (1 - first) * 2], atol=1e-6)
    # A row with no history pools to zeros, with zero weights.
    np.testing.assert_array_equal(pooled.numpy()[1], [0.0])
    np.testing.assert_array_equal(weights.numpy()[1], [0.0, 0.0, 0.0])


def test_attention_pooling_uses_context_and_query():
    rng = np.random.default_rng(0)
    history = tf.constant(rng.normal(size=(2, 4, 3)), tf.float32)
    query = tf.constant(rng.normal(size=(2, 3)), tf.float32)
    context = tf.constant(rng.normal(size=(2, 3)), tf.float32)
    mask = tf.ones((2, 4), tf.bool)
    layer = AttentionPooling()
    layer(history, query, mask, context=context)
    assert layer.projection.kernel.shape == (12, 3)  # W in R^{d x 4d}, Eq. 3
    _, base = layer(history, query, mask, context=context, return_weights=True)
    _, other = layer(history, -query, mask, context=context, return_weights=True)
    assert not np.allclose(base.numpy(), other.numpy())
    np.testing.assert_allclose(base.numpy().sum(axis=1), [1.0, 1.0], atol=1e-6)


def test_bi_interaction_pooling_by_hand():
    fields = tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    # Pairs: (1*3 + 1*5 + 3*5, 2*4 + 2*6 + 4*6) = (23, 44)
    plain = BiInteractionPooling(field_weights=False)(fields)
    np.testing.assert_allclose(plain.numpy(), [[23.0, 44.0]])
    layer = BiInteractionPooling()
    layer(fields)
    layer.scales.assign([1.0, 2.0, 1.0])
    # Scaled fields [1,2], [6,8], [5,6]: (6 + 5 + 30, 16 + 12 + 48) = (41, 76)
    np.testing.assert_allclose(layer(fields).numpy(), [[41.0, 76.0]])
    opposite = tf.constant([[[1.0], [-1.0]]])
    np.testing.assert_allclose(BiInteractionPooling(field_weights=False)(opposite).numpy(),
                               [[-1.0]])
    np.testing.assert_allclose(
        BiInteractionPooling(field_weights=False, absolute=True)(opposite).numpy(), [[1.0]])


def _set_classifier(classifier: DomainClassifier, kernel, bias):
    classifier.classifier.kernel.assign(np.asarray(kernel, np.float32))
    classifier.classifier.bias.assign(np.asarray(bias, np.float32))


def test_domain_classifier_two_domains_is_one_logit_and_its_reversed_gradient():
    layer = DomainClassifier(2, reversal_scale=0.5)
    layer.build((None, 2))
    _set_classifier(layer, [[1.0], [-1.0]], [0.25])
    h = tf.constant([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    domain = tf.constant([1, 0, 0])
    with tf.GradientTape() as tape:
        tape.watch(h)
        losses = layer(h, domain)
    # Logits h @ [1, -1] + 0.25 = [1.25, -1.75, 0.25]; one cross-entropy per row.
    logits = np.array([1.25, -1.75, 0.25])
    labels = np.array([1, 0, 0])
    np.testing.assert_allclose(losses.numpy(), _bce(labels, logits), rtol=1e-5)
    # d loss / d h = (sigmoid(logit) - label) * [1, -1]; the features get -0.5 times it.
    p = 1 / (1 + np.exp(-logits))
    expected = -0.5 * (p - labels)[:, None] * np.array([[1.0, -1.0]])
    np.testing.assert_allclose(tape.gradient(losses, h).numpy(), expected, rtol=1e-5)


def test_domain_classifier_with_three_domains_is_a_softmax_without_reversal():
    layer = DomainClassifier(3)
    layer.build((None, 1))
    assert layer.reversal is None
    _set_classifier(layer, [[1.0, 0.0, -1.0]], [0.0, 0.0, 0.0])
    h = tf.constant([[2.0], [0.0]])
    with tf.GradientTape() as tape:
        tape.watch(h)
        losses = layer(h, tf.constant([0, 2]))
    # Row 0: logits [2, 0, -2], domain 0: log(1 + e^-2 + e^-4).
    # Row 1: logits [0, 0, 0], domain 2: log 3.
    expected = [math.log(1 + math.exp(-2) + math.exp(-4)), math.log(3)]
    np.testing.assert_allclose(losses.numpy(), expected, rtol=1e-5)
    # Without a reversal the features get the plain gradient: row 1 is
    # sum_k softmax_k w_k - w_2 = (1 + 0 - 1) / 3 + 1 = 1.
    np.testing.assert_allclose(tape.gradient(losses, h).numpy()[1], [1.0], rtol=1e-5)
    with pytest.raises(ValueError, match="num_domains=1 is invalid: expected an integer >= 2"):
        DomainClassifier(1)


def test_domain_classifier_tanh_input_bounds_what_the_classifier_sees():
    layer = DomainClassifier(2, input_activation="tanh")
    layer.build((None, 1))
    _set_classifier(layer, [[1.0]], [0.0])
    huge = layer(tf.constant([[1e6]]), tf.constant([0]))
    # tanh(1e6) = 1: the loss is that of logit 1 for domain 0, log(1 + e), not 1e6.
    assert float(huge[0]) == pytest.approx(np.log1p(np.e), rel=1e-5)
    assert DomainClassifier.from_config(layer.get_config()).input_activation == "tanh"
    with pytest.raises(ValueError, match="input_activation='relu' is invalid: expected None "
                                         "or 'tanh'"):
        DomainClassifier(2, input_activation="relu")


def test_dadin_domain_classifiers_losses_by_hand_and_reversed_feature_gradient():
    layer = DadinDomainClassifiers(scale=0.5, threshold=0.5)
    layer.build((None, 2))
    for classifier in layer.classifiers.values():
        _set_classifier(classifier, [[1.0], [-1.0]], [0.0])
    h = tf.constant([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    y_hat = tf.constant([0.8, 0.2, 0.5])  # 0.5 >= T counts as positive
    domain = tf.constant([1, 0, 0])
    with tf.GradientTape() as tape:
        tape.watch(h)
        losses = layer(h, y_hat, domain)
    logits = np.array([1.0, -2.0, 0.0])  # h @ [1, -1]
    assert float(losses["global"]) == pytest.approx(np.mean(_bce(np.array([1, 0, 0]), logits)),
                                                    rel=1e-5)
    positive = _bce(1, 0.8 * 1.0) / 2 + _bce(0, 0.5 * 0.0) / 2  # rows 0 and 2: y_hat * logit
    negative = _bce(0, 0.8 * -2.0)  # row 1: (1 - 0.2) * logit
    assert float(losses["positive"]) == pytest.approx(positive, rel=1e-5)
    assert float(losses["negative"]) == pytest.approx(negative, rel=1e-5)
    # Features receive -scale times the gradient that would lower the global loss.
    gradient = tape.gradient(losses["global"], h).numpy()
    p = 1 / (1 + np.exp(-logits))
    expected = -0.5 * ((p - np.array([1, 0, 0])) / 3)[:, None] * np.array([[1.0, -1.0]])
    np.testing.assert_allclose(gradient, expected, rtol=1e-5)


def test_dadin_domain_classifiers_leave_out_parts_they_do_not_build():
    """An ablation without intra-class (or global) classifiers builds no weights for them,
    and their losses read 0."""
    layer = DadinDomainClassifiers(intra=False)
    layer.build((None, 2))
    assert sorted(layer.classifiers) == ["global"]
    _set_classifier(layer.classifiers["global"], [[1.0], [-1.0]], [0.0])
    losses = layer(tf.constant([[1.0, 2.0]]), tf.constant([0.9]), tf.constant([1]))
    assert float(losses["positive"]) == 0.0 and float(losses["negative"]) == 0.0
    # Logit 1 - 2 = -1 for domain 1: log(1 + e).
    assert float(losses["global"]) == pytest.approx(math.log1p(math.e), rel=1e-5)
    only_intra = DadinDomainClassifiers(global_loss=False)
    only_intra.build((None, 2))
    assert sorted(only_intra.classifiers) == ["negative", "positive"]
    assert len(only_intra.trainable_weights) == 4
    losses = only_intra(tf.constant([[1.0, 2.0]]), tf.constant([0.9]), tf.constant([1]))
    assert float(losses["global"]) == 0.0


def test_reversal_warmup_schedules_the_reversed_gradient():
    warmup = ReversalWarmup(total_steps=10, gamma=10.0)
    assert warmup.weight(0) == 0.0
    assert warmup.weight(5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert warmup.weight(20) == pytest.approx(2 / (1 + math.exp(-10)) - 1)

    inputs = keras.Input((1,))
    reversed_input = GradientReversal(scale=2.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(reversed_input))
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.build(model.trainable_variables)
    warmup.set_model(model)
    warmup.on_train_begin()
    model.optimizer.iterations.assign(5)  # the schedule follows the optimizer's step count
    warmup.on_train_batch_begin(0)
    x = tf.constant([[1.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x)
    kernel = float(model.layers[-1].kernel[0, 0])
    assert float(tape.gradient(y, x)[0, 0]) == pytest.approx(-2.0 * warmup.weight(5) * kernel,
                                                             rel=1e-5)
    with pytest.raises(ValueError, match="ReversalWarmup total_steps=0 is invalid"):
        ReversalWarmup(total_steps=0)

    plain = ReversalWarmup(total_steps=10)
    plain.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    with pytest.raises(TrainingError, match="the model has no GradientReversal layer"):
        plain.on_train_begin()


@pytest.mark.parametrize("with_context", [False, True])
def test_attention_blocks_equal_the_projection_of_the_concatenation(with_context):
    rng = np.random.default_rng(0)
    history = tf.constant(rng.normal(size=(3, 5, 4)), tf.float32)
    query = tf.constant(rng.normal(size=(3, 4)), tf.float32)
    context = tf.constant(rng.normal(size=(3, 4)), tf.float32) if with_context else None
    mask = tf.constant(rng.random((3, 5)) > 0.3)
    layer = AttentionPooling(hidden_units=6)
    pooled, weights = layer(history, query, mask, context=context, return_weights=True)
    tiled = [tf.repeat(v[:, None], 5, axis=1) for v in (query, context) if v is not None]
    joint = tf.concat([history, *tiled, history * tiled[0]], axis=-1)
    scores = layer.score(tf.nn.relu(layer.projection(joint)))[..., 0]
    scores = tf.where(mask, scores, -1e9)
    expected = tf.nn.softmax(scores, axis=-1) * tf.cast(mask, tf.float32)
    np.testing.assert_allclose(weights.numpy(), expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(pooled.numpy(),
                               tf.reduce_sum(expected[..., None] * history, 1).numpy(), atol=1e-5)


def _conve(kernel, reduce="flatten", units=None):
    """ConvE with one filter of all-ones ``kernel`` and W_c the identity (no bias)."""
    from tfxdr.layers import ConvETranslation

    layer = ConvETranslation(units or 8, image_shape=(2, 2), filters=1, kernel_size=kernel,
                             activation=None, reduce=reduce)
    layer.build((None, 4), (None, 4))
    layer.conv.kernel.assign(np.ones(layer.conv.kernel.shape, np.float32))
    layer.projection.kernel.assign(np.eye(*layer.projection.kernel.shape, dtype=np.float32))
    return layer


def test_conve_interleaves_head_and_relation_rows_before_the_convolution():
    head = tf.constant([[1.0, 2.0, 3.0, 4.0]])  # rows (1, 2), (3, 4)
    relation = tf.constant([[10.0, 20.0, 30.0, 40.0]])  # rows (10, 20), (30, 40)
    # A 1x1 kernel of weight 1 and W_c = I read the image back: h1, r1, h2, r2.
    np.testing.assert_allclose(_conve(1)(head, relation).numpy(),
                               [[1, 2, 10, 20, 3, 4, 30, 40]])
    # A 2x1 kernel ("same" pads below) adds each row to the next: h1+r1, r1+h2, h2+r2, r2.
    np.testing.assert_allclose(_conve((2, 1))(head, relation).numpy(),
                               [[11, 22, 13, 24, 33, 44, 30, 40]])
    # Summed over the rows: (1+10+3+30, 2+20+4+40).
    np.testing.assert_allclose(_conve(1, "sum_rows", units=2)(head, relation).numpy(), [[44, 66]])


def test_conve_refuses_an_input_that_is_not_rows_times_cols_and_an_unknown_reduction():
    from tfxdr.layers import ConvETranslation

    with pytest.raises(ValueError, match=r"head of size 6 cannot be reshaped to image_shape "
                                         r"\(2, 2\): expected 4"):
        ConvETranslation(3, image_shape=(2, 2)).build((None, 6))
    with pytest.raises(ValueError, match="reduce='mean' is invalid: expected one of flatten, "
                                         "sum_rows"):
        ConvETranslation(3, image_shape=(2, 2), reduce="mean")
