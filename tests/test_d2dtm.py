"""D2D-TM: weight sharing, ablation switches, both optimizers restored, learning."""

import numpy as np
import pytest

from tfxdr.config import apply_overrides
from tfxdr.errors import ConfigError
from tfxdr.models import D2DTMConfig, MODELS
from tfxdr.tasks import ClickTranslationTask
from tfxdr.training import restore_weights, set_seed

SMALL = ["private_dims=32", "shared_dims=16", "latent_dim=8", "batch_size=64"]


def _model(data, overrides, seed=0):
    set_seed(seed)
    config = apply_overrides(D2DTMConfig(), SMALL + overrides)
    model = MODELS.get("d2dtm").build(config, data.sizes, seed)
    model(ClickTranslationTask().example_batch(data))
    return model, config


def _fit(model, config, task, data, epochs):
    model.fit(task.train_dataset(data, config.batch_size, 0), epochs=epochs, verbose=0,
              shuffle=False)


def test_last_encoder_and_first_generator_layers_are_shared(planted):
    _, data = planted
    model, _ = _model(data, [])
    names = [v.path for v in model.trainable_variables]
    assert len(names) == len(set(names))
    # One kernel for the shared encoder layer, the latent mean and the shared generator
    # layer; one per domain for private layers.
    assert sum("E_shared_0" in n and n.endswith("kernel") for n in names) == 1
    assert sum("G_shared_0" in n and n.endswith("kernel") for n in names) == 1
    assert sum(("Ea_0" in n or "Eb_0" in n) and n.endswith("kernel") for n in names) == 2
    # Changing the shared layer changes the translations of both directions.
    x_a = np.eye(data.rows[0].num_items, dtype=np.float32)[:2]
    x_b = np.eye(data.rows[1].num_items, dtype=np.float32)[:2]
    before = [np.asarray(model.cross_domain_scores(x_a, "a_to_b")),
              np.asarray(model.cross_domain_scores(x_b, "b_to_a"))]
    kernel = model.encoder_shared[0].kernel
    kernel.assign(kernel * 2.0)
    after = [np.asarray(model.cross_domain_scores(x_a, "a_to_b")),
             np.asarray(model.cross_domain_scores(x_b, "b_to_a"))]
    assert not np.allclose(before[0], after[0]) and not np.allclose(before[1], after[1])


@pytest.mark.parametrize("ablation, gan_on, cycle_on", [
    ("full", True, True), ("vae_cc", False, True), ("vae_gan", True, False), ("vae", False, False),
])
def test_ablations_switch_loss_terms_and_discriminator_updates(planted, ablation, gan_on, cycle_on):
    task, data = planted
    model, config = _model(data, [f"ablation={ablation}"])
    d_before = [np.array(v) for v in model.discriminator_variables()]
    _fit(model, config, task, data, 1)
    logs = {name: float(t.result()) for name, t in model.trackers.items()}
    assert (logs["gan"] > 0) == gan_on
    assert (logs["cycle"] > 0) == cycle_on
    d_after = [np.array(v) for v in model.discriminator_variables()]
    changed = any(not np.array_equal(a, b) for a, b in zip(d_before, d_after))
    assert changed == gan_on
    assert int(model.d_optimizer.iterations) == (7 if gan_on else 0)  # 420 users / 64


def test_checkpoint_restores_both_optimizers(planted, tmp_path):
    task, data = planted
    model, config = _model(data, [])
    _fit(model, config, task, data, 2)
    model.save_weights(tmp_path / "w.weights.h5")
    fresh, _ = _model(data, [], seed=1)
    restore_weights(fresh, tmp_path / "w.weights.h5")
    assert int(fresh.optimizer.iterations) == int(model.optimizer.iterations) == 14
    assert int(fresh.d_optimizer.iterations) == int(model.d_optimizer.iterations) == 14
    for saved, loaded in zip(model.d_optimizer.variables, fresh.d_optimizer.variables):
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(loaded))
    x_a = data.rows[0].dense(data.parts["test"][:5])
    np.testing.assert_allclose(np.asarray(model.cross_domain_scores(x_a, "a_to_b")),
                               np.asarray(fresh.cross_domain_scores(x_a, "a_to_b")), atol=1e-6)


def test_d2dtm_transfers_planted_groups(planted):
    task, data = planted
    model, config = _model(data, [])
    _fit(model, config, task, data, 40)
    metrics = task.evaluate(model, data, "test")
    pop = task.evaluate(_pop(task, data), data, "test")
    for key in ("books->movies", "movies->books"):
        assert metrics[key]["recall@10"] > pop[key]["recall@10"] + 0.25, (metrics, pop)


def _pop(task, data):
    config = MODELS.get("pop").config_cls()
    model = MODELS.get("pop").build(config, data.sizes, 0)
    model.fit(task.train_dataset(data, config.batch_size, 0), epochs=1, verbose=0, shuffle=False)
    return model


def test_preset_by_item_count_and_config_errors():
    config = D2DTMConfig()
    assert config.layer_sizes(1278, 948) == ((200,), (100,))
    assert config.layer_sizes(16069, 18226) == ((600,), (200,))
    with pytest.raises(ConfigError, match="D2DTMConfig.ablation='no_gan' is invalid: expected "
                                          "one of full, vae_cc, vae_gan, vae"):
        apply_overrides(D2DTMConfig(), ["ablation=no_gan"])
