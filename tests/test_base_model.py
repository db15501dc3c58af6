"""The training base of every model: two players and their step counts, checkpoints of
both optimizers, the non-finite loss guard."""

import dataclasses
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from tfxdr.config import TrainConfig
from tfxdr.errors import TrainingError
from tfxdr.features import Feature, FeatureSpec
from tfxdr.models import MODELS, D2DTMConfig, TfxdrModel
from tfxdr.resume import load_training_state, save_training_state
from tfxdr.training import fit_with_selection

TERMS = ("loss", "d_loss", "aux")


class Duel(TfxdrModel):
    """A generator weight w and a critic weight c on numeric inputs (no spec).

    Each term adds log(min(poison_<term>)): 0 for a batch whose poison is 1, NaN
    for one whose poison is -1, so a test decides which term turns non-finite.
    """

    loss_terms = TERMS
    discriminator_objective = "d_loss"

    def build(self, input_shape=None):
        super().build(input_shape)
        self.w = self.add_weight(shape=(2,), initializer="ones", name="w")
        self.c = self.add_weight(shape=(2,), initializer="zeros", name="c")

    def discriminator_variables(self):
        return [self.c]

    def compute_losses(self, data, training=True):
        data = self.preprocess(data)
        x = data["x"]
        fake = x * self.w
        critic = ops.sum((fake - x) * self.c, axis=-1)
        poison = {name: ops.log(ops.min(data[f"poison_{name}"])) for name in TERMS}
        return {"loss": ops.mean(ops.square(ops.sum(fake, -1) - 1.0)) - ops.mean(critic)
                + poison["loss"],
                "d_loss": ops.mean(critic) + ops.mean(ops.square(self.c)) + poison["d_loss"],
                "aux": ops.mean(x) + poison["aux"]}


class Solo(Duel):
    """The same model without a second player."""

    loss_terms = ("loss", "aux")
    discriminator_objective = None

    def discriminator_variables(self):
        return []

    def compute_losses(self, data, training=True):
        losses = super().compute_losses(data, training)
        return {"loss": losses["loss"], "aux": losses["aux"]}


def _batches(sizes=(4, 4, 4), poisoned=None, at_batch=None):
    """Batches of numeric inputs; batch ``at_batch`` makes term ``poisoned`` NaN."""
    rng = np.random.default_rng(0)
    batches = []
    for k, size in enumerate(sizes):
        batch = {"x": rng.uniform(0.5, 1.5, (size, 2)).astype(np.float32)}
        for name in TERMS:
            value = -1.0 if (name == poisoned and k == at_batch) else 1.0
            batch[f"poison_{name}"] = np.full(size, value, np.float32)
        batches.append(batch)
    dataset = tf.data.Dataset.from_tensors(batches[0])
    for batch in batches[1:]:
        dataset = dataset.concatenate(tf.data.Dataset.from_tensors(batch))
    return dataset


def _duel(d_steps=1, seed=0):
    model = Duel(None, TrainConfig(), seed=seed)
    model.build()
    model.compile(optimizer=keras.optimizers.Adam(0.05), d_optimizer=keras.optimizers.Adam(0.05),
                  d_steps=d_steps)
    return model


def _values(variables):
    return [np.array(v) for v in variables]


@pytest.mark.parametrize("d_steps", [1, 3])
def test_discriminator_takes_d_steps_updates_per_generator_update(d_steps):
    model = _duel(d_steps)
    model.fit(_batches(), epochs=2, verbose=0, shuffle=False)
    # 3 batches x 2 epochs: 6 joint steps, each after d_steps - 1 critic-only steps.
    assert int(model.optimizer.iterations) == 6
    assert int(model.d_optimizer.iterations) == d_steps * 6
    assert not np.array_equal(np.array(model.c), np.zeros(2))


def test_checkpoint_restores_both_optimizers_iterations_and_moments(tmp_path):
    model = _duel(d_steps=2)
    model.fit(_batches(), epochs=1, verbose=0, shuffle=False)
    path = tmp_path / "resume.npz"
    save_training_state(model, path, {})
    fresh = _duel(d_steps=2, seed=1)
    assert int(fresh.optimizer.iterations) == 0 and int(fresh.d_optimizer.iterations) == 0
    fresh.build_optimizers()
    load_training_state(fresh, path)
    assert int(fresh.optimizer.iterations) == 3
    assert int(fresh.d_optimizer.iterations) == 6
    for mine, theirs in ((model.optimizer, fresh.optimizer),
                         (model.d_optimizer, fresh.d_optimizer)):
        assert len(mine.variables) == len(theirs.variables) > 2  # iterations, rate, moments
        for a, b in zip(mine.variables, theirs.variables):
            np.testing.assert_array_equal(np.array(a), np.array(b), err_msg=a.path)
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    # The moments are those of training, not a fresh optimizer's zeros.
    assert any(np.abs(np.array(v)).sum() > 0 for v in fresh.d_optimizer.variables[2:])


@pytest.mark.parametrize("term, d_steps", [
    ("loss", 1), ("aux", 1), ("d_loss", 2), ("loss", 2), ("aux", 3),
])
def test_a_non_finite_term_stops_training_before_any_update(term, d_steps):
    model = _duel(d_steps)
    model.fit(_batches(sizes=(4,)), epochs=1, verbose=0, shuffle=False)
    weights = _values(model.weights)
    optimizer_state = _values(model.optimizer.variables) + _values(model.d_optimizer.variables)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=re.escape(f"non-finite loss term '{term}'")):
        model.fit(_batches(sizes=(4,), poisoned=term, at_batch=0), epochs=1, verbose=0,
                  shuffle=False)
    for before, after in zip(weights, model.weights):
        np.testing.assert_array_equal(before, np.array(after))
    state = _values(model.optimizer.variables) + _values(model.d_optimizer.variables)
    for before, after in zip(optimizer_state, state):
        np.testing.assert_array_equal(before, after)
    assert int(model.optimizer.iterations) == 1 and int(model.d_optimizer.iterations) == d_steps


class _NumericTask:
    """The task protocol over fixed numeric batches; validation scores the step count."""

    def __init__(self, dataset):
        self.dataset = dataset

    def train_dataset(self, data, batch_size, seed, domains=None):
        return self.dataset

    def num_train_examples(self, data, domains=None):
        return 12

    def evaluate(self, model, data, part):
        return {"val": {"score": float(model.optimizer.iterations)}}

    def selection_score(self, metrics, data=None):
        return metrics["val"]["score"]


def test_fit_with_selection_names_the_non_finite_term(tmp_path):
    model = _duel()
    task = _NumericTask(_batches(poisoned="aux", at_batch=1))
    with pytest.raises(TrainingError) as error:
        fit_with_selection(model, task, None, TrainConfig(epochs=2, patience=0), seed=0,
                           run_dir=tmp_path, verbose=0)
    assert str(error.value) == ("training diverged: loss term 'aux' is not finite at epoch 1, "
                                "step 2; no update with it was applied")
    assert error.value.field == "learning_rate"
    assert int(model.optimizer.iterations) == 1  # the first batch's step only


def test_a_model_without_a_discriminator_refuses_a_d_optimizer_and_vice_versa():
    solo = Solo(None, TrainConfig())
    solo.build()
    with pytest.raises(ValueError, match="^Solo: d_optimizer is not used by this model$"):
        solo.compile(optimizer="adam", d_optimizer="adam")
    duel = Duel(None, TrainConfig())
    duel.build()
    with pytest.raises(ValueError, match="^Duel: d_optimizer is required by this model$"):
        duel.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"^d_steps=0 is invalid: expected an integer >= 1$"):
        duel.compile(optimizer="adam", d_optimizer="adam", d_steps=0)


def _click_spec():
    return FeatureSpec(("movies", "books"), (
        Feature("items_movies", "multi_valued", vocabulary=tuple(f"m{i}" for i in range(5)),
                domain="movies"),
        Feature("items_books", "multi_valued", vocabulary=tuple(f"b{i}" for i in range(4)),
                domain="books")))


def _clicks():
    batch = {"items_movies": tf.constant([["m0", "m1", ""], ["m2", "m3", "m4"]]),
             "items_books": tf.constant([["b0", ""], ["b1", "b3"]])}
    return tf.data.Dataset.from_tensors(batch).repeat(2)


TINY_D2DTM = dict(private_dims=(4,), shared_dims=(3,), latent_dim=2, discriminator_dims=(3,))


@pytest.mark.parametrize("ablation, d_updates", [("full", 3 * 2), ("vae_cc", 0)])
def test_d2dtm_compiles_its_discriminator_steps_from_the_config(ablation, d_updates):
    """d2dtm takes d_steps from its config; without a GAN its discriminators get no
    gradient and are never updated."""
    config = D2DTMConfig(**TINY_D2DTM, d_steps=3, ablation=ablation)
    model = MODELS.get("d2dtm").create(config, _click_spec(), seed=0)
    assert model.d_steps == 3
    critics = _values(model.discriminator_variables())
    model.run_eagerly = True  # two tiny steps: cheaper than tracing three passes
    model.fit(_clicks(), epochs=1, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations) == 2
    assert int(model.d_optimizer.iterations) == d_updates
    moved = [not np.array_equal(a, np.array(b))
             for a, b in zip(critics, model.discriminator_variables())]
    assert all(moved) if d_updates else not any(moved)


def test_two_player_config_defaults_compile_the_discriminator_optimizer():
    config = dataclasses.replace(D2DTMConfig(**TINY_D2DTM), learning_rate=0.01,
                                 d_learning_rate=0.002)
    model = MODELS.get("d2dtm").create(config, _click_spec(), seed=0)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert float(model.d_optimizer.learning_rate) == pytest.approx(0.002)
    assert model.d_steps == 1


def test_a_model_made_directly_compiles_trains_saves_and_loads(tmp_path):
    """Without the registry: compile builds the model, the registry name comes from
    the model and config classes, and the .keras file loads back."""
    from tfxdr.models import D2DTM

    model = D2DTM(_click_spec(), D2DTMConfig(**TINY_D2DTM), seed=0)
    assert model.registered_as == "d2dtm" and not model.built
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  d_optimizer=keras.optimizers.Adam(0.01))
    model.fit(_clicks(), epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    request = {"items_movies": tf.constant([["m0", "m4"]])}
    np.testing.assert_allclose(np.asarray(loaded.translate(request, 0, 1)),
                               np.asarray(model.translate(request, 0, 1)), atol=1e-6)
    assert int(loaded.d_optimizer.iterations) == 2


def test_the_registry_refuses_a_spec_with_the_wrong_number_of_domains():
    from tfxdr.errors import DataError

    spec = FeatureSpec(("movies", "books", "games"), tuple(
        Feature(f"items_{d}", "multi_valued", vocabulary=("x", "y"), domain=d)
        for d in ("movies", "books", "games")))
    with pytest.raises(DataError, match=re.escape(
            "model 'd2dtm' takes exactly 2 domains; got 3 (movies, books, games)")):
        MODELS.get("d2dtm").create(D2DTMConfig(**TINY_D2DTM), spec)


def test_evaluate_reports_the_loss_terms_without_training():
    model = MODELS.get("multivae").create(
        dataclasses.replace(MODELS.get("multivae").config_cls(), hidden_dims=(4,),
                            latent_dim=2), _click_spec())
    before = _values(model.weights)
    logs = model.evaluate(_clicks(), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "nll", "kl", "beta"} and logs["nll"] > 0
    assert int(model.optimizer.iterations) == 0
    assert all(np.array_equal(a, np.array(b)) for a, b in zip(before, model.weights))
