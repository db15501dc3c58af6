"""D2D-TM's two readings of Eq. 4-5 and the paper's objective as a registered model.

``discriminator_input=conditional`` gives each discriminator the user's pair of
click vectors; ``d2dtm_paper`` is ``d2dtm`` without the translation likelihood.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfxdr.cli import main
from tfxdr.config import apply_overrides, to_dict
from tfxdr.errors import ConfigError
from tfxdr.models import MODELS, D2DTMConfig, D2DTMPaperConfig
from tfxdr.training import set_seed
from test_keras_saving import click_request, click_spec

# click_spec: domain A = movies (6 items, m0..m5), domain B = books (5 items, b0..b4).
TINY = dict(private_dims=(4,), shared_dims=(3,), latent_dim=2, discriminator_dims=(2,),
            input_dropout=0.0)
# Two users: movies {m1, m3} / books {b0, b4}, and movies {m5} / books {b2}.
BATCH = {"items_movies": tf.constant([["m1", "m3"], ["m5", ""]]),
         "items_books": tf.constant([["b0", "b4"], ["b2", ""]])}
X_A = np.array([[0, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 1]], "float32")
X_B = np.array([[1, 0, 0, 0, 1], [0, 0, 1, 0, 0]], "float32")


def _model(reading="conditional", click_inputs="dense", **fields):
    config = D2DTMConfig(**{**TINY, **fields}, discriminator_input=reading,
                         click_inputs=click_inputs)
    return MODELS.get("d2dtm").create(config, click_spec(), seed=0)


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _softplus(x):
    return np.log1p(np.exp(x))


def test_conditional_discriminators_read_both_domains():
    # Conditional: 6 + 5 = 11 inputs for both; target: each its own domain's items.
    for reading, widths in (("conditional", (11, 11)), ("target", (6, 5))):
        model = _model(reading)
        assert tuple(model.discriminators[d][0].kernel.shape[0] for d in "ab") == widths
        assert model.discriminators["a"][0].kernel.shape[1] == 2


def test_a_real_pair_is_the_users_own_two_vectors_in_domain_order():
    model = _model()
    x_a, x_b = (np.asarray(x) for x in model.click_vectors(BATCH))
    np.testing.assert_array_equal(x_a, X_A)
    np.testing.assert_array_equal(x_b, X_B)
    real = np.concatenate([_unit(X_A), _unit(X_B)], axis=-1)
    # D_B's real pair (x_A | x_B) and D_A's are the same row of the same user.
    for domain, target, source in (("b", x_b, x_a), ("a", x_a, x_b)):
        np.testing.assert_allclose(model.discriminator_input(target, domain, source), real,
                                   rtol=1e-6)
    # A generated B vector takes B's place beside the same user's real x_A.
    fake_b = np.array([[0.1, 0.2, 0.3, 0.2, 0.2], [0.5, 0.1, 0.1, 0.1, 0.2]], "float32")
    np.testing.assert_allclose(model.discriminator_input(fake_b, "b", x_a),
                               np.concatenate([_unit(X_A), _unit(fake_b)], axis=-1), rtol=1e-6)
    # The target reading ignores the source.
    target = _model("target")
    np.testing.assert_allclose(target.discriminator_input(fake_b, "b", x_a), _unit(fake_b),
                               rtol=1e-6)


def _set_by_hand(model):
    """Generators that ignore z (zero kernels, known biases) and hand-set discriminators;
    returns the fakes' probability vectors and the discriminators' weights."""
    rng = np.random.default_rng(7)
    fakes, weights = {}, {}
    for d, n in (("a", 6), ("b", 5)):
        bias = rng.normal(size=n).astype("float32")
        model.to_logits[d].kernel.assign(np.zeros(model.to_logits[d].kernel.shape, "float32"))
        model.to_logits[d].bias.assign(bias)
        fakes[d] = np.exp(bias) / np.exp(bias).sum()
        weights[d] = [rng.normal(size=tuple(w.shape)).astype("float32") * 2.0
                      for layer in model.discriminators[d] for w in layer.weights]
        for w, value in zip((w for layer in model.discriminators[d] for w in layer.weights),
                            weights[d]):
            w.assign(value)
    return fakes, weights


def _logit(weights, inputs):
    kernel, bias, out_kernel, out_bias = weights
    return (np.tanh(inputs @ kernel + bias) @ out_kernel + out_bias)[:, 0]


def _losses_by_hand(fakes, weights, x_a, x_b):
    """Per-user sum over D_A, D_B of -log D(real) - log(1 - D(fake)), and -log D(fake)."""
    real = np.concatenate([_unit(x_a), _unit(x_b)], axis=-1)
    fake = {"b": np.concatenate([_unit(x_a), np.tile(_unit(fakes["b"]), (2, 1))], axis=-1),
            "a": np.concatenate([np.tile(_unit(fakes["a"]), (2, 1)), _unit(x_b)], axis=-1)}
    d_loss = sum(_softplus(-_logit(weights[d], real)) + _softplus(_logit(weights[d], fake[d]))
                 for d in "ab")
    gan = sum(_softplus(-_logit(weights[d], fake[d])) for d in "ab")
    return d_loss.mean(), gan.mean()


@pytest.mark.parametrize("click_inputs", ["dense", "bags"])
def test_discriminator_loss_by_hand_on_two_users(click_inputs):
    model = _model(click_inputs=click_inputs, lambda_0=1.0)
    assert model.reads_bags == (click_inputs == "bags")
    fakes, weights = _set_by_hand(model)
    losses = model.compute_losses((BATCH,), training=False)
    d_loss, gan = _losses_by_hand(fakes, weights, X_A, X_B)
    np.testing.assert_allclose(float(losses["d_loss"]), d_loss, rtol=1e-5)
    np.testing.assert_allclose(float(losses["gan"]), gan, rtol=1e-5)
    # Pairing one user's x_A with the other's x_B gives another value: the check
    # above holds only with the same user's pair.
    crossed, _ = _losses_by_hand(fakes, weights, X_A, X_B[::-1])
    assert abs(crossed - d_loss) > 0.05, (crossed, d_loss)


def test_bags_give_the_dense_discriminator_gradients():
    grads = {}
    for click_inputs in ("dense", "bags"):
        model = _model(click_inputs=click_inputs)
        _set_by_hand(model)
        with tf.GradientTape() as tape:
            d_loss = model.compute_losses((BATCH,), training=False)["d_loss"]
        grads[click_inputs] = [tf.convert_to_tensor(g) for g in
                               tape.gradient(d_loss, model.discriminator_variables())]
    for bag, dense in zip(grads["bags"], grads["dense"], strict=True):
        np.testing.assert_allclose(bag, dense, rtol=1e-5, atol=1e-7)
    # The first layers' gradients reach the rows of both domains' columns.
    first = np.asarray(grads["dense"][0])
    assert np.abs(first[:6]).sum() > 0 and np.abs(first[6:]).sum() > 0


@pytest.mark.parametrize("click_inputs", ["dense", "bags"])
def test_conditional_model_keras_file_round_trip(click_inputs, tmp_path):
    model = _model(click_inputs=click_inputs, learning_rate=0.05)
    request = click_request()
    x = model.click_vectors(request)
    model.run_eagerly = True
    model.fit(tf.data.Dataset.from_tensors(request).repeat(2), epochs=1, verbose=0,
              shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.config == model.config and loaded.config.discriminator_input == "conditional"
    assert int(loaded.d_optimizer.iterations) == int(model.d_optimizer.iterations) == 2
    for s, t in ((0, 1), (1, 0)):
        np.testing.assert_allclose(loaded.translate(request, s, t), model.translate(request, s, t),
                                   atol=1e-6)
    for d, target, source in (("b", x[1], x[0]), ("a", x[0], x[1])):
        np.testing.assert_allclose(loaded.discriminate(target, d, source),
                                   model.discriminate(target, d, source), atol=1e-6)


def test_d2dtm_paper_is_d2dtm_without_the_translation_likelihood():
    spec = MODELS.get("d2dtm_paper")
    assert spec.config_cls is D2DTMPaperConfig and spec.task == "clicks"
    assert spec.model_path == MODELS.get("d2dtm").model_path
    paper, default = to_dict(apply_overrides(spec.config_cls(), [])), to_dict(D2DTMConfig())
    # The one field changed on purpose; the GAN reads Eq. 4-5 as printed in both.
    changed = {k: (default[k], paper[k]) for k in default if default[k] != paper[k]}
    assert changed == {"translation_weight": (3.0, 0.0)}
    assert paper["discriminator_input"] == "target" and paper["ablation"] == "full"
    # `--set translation_weight=0` on d2dtm is the same objective.
    assert to_dict(apply_overrides(D2DTMConfig(), ["translation_weight=0"])) == paper
    assert "translation_weight" not in spec.config_cls.search_space
    model = spec.create(D2DTMPaperConfig(**TINY), click_spec(), seed=0)
    assert model.registered_as == "d2dtm_paper"
    assert float(model.compute_losses((BATCH,), training=False)["translation"]) == 0.0


def test_discriminator_input_is_checked():
    with pytest.raises(ConfigError, match="D2DTMConfig.discriminator_input='pair' is invalid: "
                                          "expected one of target, conditional"):
        apply_overrides(D2DTMConfig(), ["discriminator_input=pair"])


def test_train_d2dtm_paper_from_the_command_line(planted_csv, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "d2dtm_paper", "--dataset", str(planted_csv), "--domains",
                 "books,movies", "--out", str(out), "--epochs", "1", "--quiet",
                 "--set", "private_dims=8", "--set", "shared_dims=4", "--set", "latent_dim=2",
                 "--set", "discriminator_input=conditional"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["model"] == "d2dtm_paper", saved
    assert saved["config"]["translation_weight"] == 0.0
    assert saved["config"]["discriminator_input"] == "conditional"


def test_conditional_d2dtm_transfers_planted_groups(planted):
    task, data = planted
    set_seed(0)
    config = apply_overrides(D2DTMConfig(), ["private_dims=32", "shared_dims=16", "latent_dim=8",
                                             "batch_size=64", "discriminator_input=conditional"])
    model = MODELS.get("d2dtm").create(config, data.spec, 0)
    model.fit(task.train_dataset(data, config.batch_size, 0), epochs=40, verbose=0,
              shuffle=False)
    metrics = task.evaluate(model, data, "test")
    pop_config = MODELS.get("pop").config_cls()
    pop = MODELS.get("pop").create(pop_config, data.spec, 0)
    pop.fit(task.train_dataset(data, pop_config.batch_size, 0), epochs=1, verbose=0,
            shuffle=False)
    pop_metrics = task.evaluate(pop, data, "test")
    for key in ("books->movies", "movies->books"):
        assert metrics[key]["recall@10"] > pop_metrics[key]["recall@10"] + 0.25, (metrics,
                                                                                 pop_metrics)
    # The discriminators trained on the pairs: both first layers read 60 + 40 items.
    assert model.discriminators["b"][0].kernel.shape[0] == 100
