"""AFT: the fakes, the masked encoder, which player each loss trains, the phases."""

import numpy as np
import pytest
import tensorflow as tf

from tfxdr.features import Feature, FeatureSpec
from tfxdr.models import MODELS, Phase

TINY = dict(max_len=5, dim=4, num_positives=2, num_negatives=3, g_layers=1, g_heads=1,
            d_layers=1, d_heads=2, ffn_dim=8, num_fakes=2, conve_rows=2, conve_filters=2,
            dropout=0.0)


def _spec():
    return FeatureSpec(("movies", "books", "games"), (
        Feature("user_id", "categorical", vocabulary=("u0", "u1", "u2"), entity="user"),
        Feature("items_movies", "multi_valued", vocabulary=tuple(f"m{i}" for i in range(8)),
                domain="movies", entity="item"),
        Feature("items_books", "multi_valued", vocabulary=tuple(f"b{i}" for i in range(6)),
                domain="books", entity="item"),
        Feature("items_games", "multi_valued", vocabulary=tuple(f"g{i}" for i in range(5)),
                domain="games", entity="item")))


def _model(**overrides):
    registered = MODELS.get("aft")
    model = registered.create(registered.config_cls(**{**TINY, **overrides}), _spec(), seed=0)
    model.compile_default()
    return model


def _batch():
    """Three users' inputs and positives; u2 has no games at all."""
    return {"user_id": tf.constant(["u0", "u1", "u2"]),
            "items_movies": tf.constant([["", "m0", "m1", "m2", "m3"], ["m4", "m5", "m6", "m7",
                                                                        "m0"],
                                         ["", "", "", "", "m7"]]),
            "items_books": tf.constant([["", "", "", "b0", "b1"], ["", "", "", "", ""],
                                        ["", "b2", "b3", "b4", "b5"]]),
            "items_games": tf.constant([["", "", "", "g0", "g1"], ["", "", "", "", "g2"],
                                        ["", "", "", "", ""]]),
            "positives_movies": tf.constant([["m4", ""], ["m1", "m2"], ["m0", "m9"]]),
            "positives_books": tf.constant([["b2", "b3"], ["b0", ""], ["", ""]]),
            "positives_games": tf.constant([["g2", ""], ["", ""], ["g3", "g4"]])}


def test_the_fakes_are_the_generators_best_items_the_users_clicks_left_out():
    model = _model(num_fakes=3)
    items = model.g_item_tables[0].embeddings
    # Item m_i (table row i + 2) scores i against a user vector of ones: m7 is best.
    items.assign(np.concatenate([np.zeros((2, 4)), np.arange(8)[:, None] * np.ones((1, 4))
                                 / 4]).astype(np.float32))
    batch = _batch()
    clicked = tf.concat([model.positives(batch, 0), model.item_positions(
        model.tokens(batch, 0, 5))], axis=1)
    fakes = np.asarray(model.fakes(tf.ones((3, 4)), 0, clicked))
    # u0 clicked m0-m4: m7, m6, m5; u1 clicked m0-m2, m4-m7: only m3 is left, then the
    # best of the clicked; u2 clicked m7 and m0 (m9 is unknown): m6, m5, m4.
    np.testing.assert_array_equal(fakes[0], [7, 6, 5])
    assert fakes[1][0] == 3
    np.testing.assert_array_equal(fakes[2], [6, 5, 4])


def test_every_training_click_is_kept_out_of_the_fakes_and_a_fake_click_is_removed():
    model = _model(num_fakes=3)
    model.g_item_tables[0].embeddings.assign(np.concatenate(
        [np.zeros((2, 4)), np.arange(8)[:, None] * np.ones((1, 4)) / 4]).astype(np.float32))
    # u0's later training clicks m7 and m6: neither an input nor a positive.
    batch = {**_batch(), "clicked_movies": tf.constant([["m7", "m6"], ["", ""], ["", ""]])}
    clicked = model.clicked(batch, 0)
    fakes = model.fakes(tf.ones((3, 4)), 0, clicked)
    # Only m5 is left unclicked for u0; the other two of its top 3 are clicks, and
    # the loss weighs them 0.
    assert int(fakes[0, 0]) == 5
    np.testing.assert_array_equal(model.unclicked(fakes, clicked)[0], [True, False, False])
    np.testing.assert_array_equal(model.unclicked(fakes, clicked)[2], [True, True, True])


def test_the_masked_encoder_hides_the_targets_inputs_only_in_training():
    model = _model(mask_ratio=0.999)
    batch = _batch()
    blank = {**batch, "items_books": tf.fill(tf.shape(batch["items_books"]), "")}
    masked = model.generator_user(batch, 1, training=True)
    np.testing.assert_allclose(masked, model.generator_user(blank, 1, training=False),
                               atol=1e-6)
    # With movies the target, movies are masked and books read whole.
    no_movies = {**batch, "items_movies": tf.fill(tf.shape(batch["items_movies"]), "")}
    np.testing.assert_allclose(model.generator_user(batch, 0, training=True),
                               model.generator_user(no_movies, 0, training=False), atol=1e-6)
    assert np.abs(np.asarray(masked) - np.asarray(model.generator_user(batch, 1))).max() > 1e-4
    unmasked = _model(mask_ratio=0.999, ablation="no_mask")
    np.testing.assert_allclose(unmasked.generator_user(batch, 1, training=True),
                               unmasked.generator_user(batch, 1, training=False), atol=1e-6)


def test_each_loss_reaches_only_its_player():
    model = _model()
    with tf.GradientTape(persistent=True) as tape:
        losses = model.compute_losses(_batch())
    d_vars, g_vars = model.discriminator_variables(), model.generator_variables()
    assert {id(v) for v in d_vars}.isdisjoint(id(v) for v in g_vars)
    # L_D reads the fakes as item positions only: no gradient into the generator.
    assert all(g is None for g in tape.gradient(losses["d_loss"], g_vars))
    # The reward is a stop-gradient: the generator's loss moves no discriminator weight.
    assert all(g is None for g in tape.gradient(losses["loss"], d_vars))
    moved = [g for g in tape.gradient(losses["loss"], g_vars) if g is not None]
    assert moved and max(float(tf.reduce_max(tf.abs(g))) for g in moved) > 0
    assert float(losses["l_mmd"]) < 0  # the fakes pushed away from the real clicks


def test_balanced_and_pooled_reductions_of_the_discriminator_loss():
    import dataclasses

    model = _model()
    start, terms = np.array(model.sampler.state), {}
    for table in model.item_tables:  # every discriminator logit 0: each term is ln 2
        table.embeddings.assign(tf.zeros_like(table.embeddings))
    for reduction in ("balanced", "pooled"):
        model.config = dataclasses.replace(model.config, d_reduction=reduction)
        model.sampler.state.assign(start)  # the same negatives for both
        terms[reduction] = model.compute_losses(_batch(), training=False)
    # Balanced adds the mean over the real clicks to the mean over the negatives; pooled
    # (Eq. 13) is one mean over both.
    np.testing.assert_allclose(float(terms["balanced"]["l_d"]), 2 * np.log(2), rtol=1e-6)
    np.testing.assert_allclose(float(terms["pooled"]["l_d"]), np.log(2), rtol=1e-6)
    np.testing.assert_array_equal(terms["pooled"]["l_g"], terms["balanced"]["l_g"])
    # A zero logit is a reward of 1/2 for every fake.
    np.testing.assert_allclose(float(terms["pooled"]["reward"]), 0.5, rtol=1e-6)


def test_a_reward_baseline_leaves_no_signal_when_the_discriminator_rates_all_fakes_alike():
    model = _model(reward_baseline="mean", lambda_mmd=0.0)
    for table in model.item_tables:
        table.embeddings.assign(tf.zeros_like(table.embeddings))  # every reward 1/2
    with tf.GradientTape() as tape:
        losses = model.compute_losses(_batch(), training=False)
    # Each fake's advantage is 1/2 - 1/2: L_G and its gradient vanish.
    assert float(losses["l_g"]) == 0.0
    np.testing.assert_allclose(float(losses["reward"]), 0.5, rtol=1e-6)
    gradients = tape.gradient(losses["loss"], model.generator_variables())
    assert all(g is None or float(tf.reduce_max(tf.abs(g))) == 0.0 for g in gradients)
    # Without the baseline (Eq. 14) the same rewards push every fake's p_g up.
    plain = _model(lambda_mmd=0.0)
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(float(plain.compute_losses(_batch(), training=False)["l_g"]),
                               -0.5 * _mean_fake_p_g(plain), rtol=1e-5)


def _mean_fake_p_g(model) -> float:
    """The mean p_g of the fakes, each counted once per positive of its target (a
    fake that is a click not at all)."""
    batch, total, count = _batch(), 0.0, 0.0
    for t in range(3):
        positives, clicked = model.positives(batch, t), model.clicked(batch, t)
        h = model.generator_user(batch, t)
        fakes = np.asarray(model.fakes(h, t, clicked))
        items = np.asarray(model.g_item_tables[t].embeddings)[2:]
        p_g = 1 / (1 + np.exp(-np.einsum("bd,bkd->bk", np.asarray(h), items[fakes])))
        weight = np.asarray(tf.reduce_sum(tf.cast(positives >= 0, tf.float32), axis=1))[:, None] \
            * np.asarray(model.unclicked(fakes, clicked), np.float32)
        total += float((p_g * weight).sum())
        count += float(weight.sum())
    return total / count


def test_pre_training_updates_the_discriminator_alone_then_both_alternate():
    model = _model(pretrain_epochs=1, epochs=3, d_steps=3)
    assert [(p.name, p.last_epoch, p.selects) for p in model.training_phases(3)] == [
        ("pretrain", 1, False), ("adversarial", 3, True)]
    before = [np.array(v) for v in model.generator_variables()]
    model.start_phase(Phase(1, selects=False, name="pretrain"))
    model.train_step(_batch())
    assert int(model.optimizer.iterations) == 0 and int(model.d_optimizer.iterations) == 1
    for value, variable in zip(before, model.generator_variables()):
        np.testing.assert_array_equal(value, variable)
    model.start_phase(Phase(3, name="adversarial"))
    model.train_step(_batch())
    assert int(model.optimizer.iterations) == 1 and int(model.d_optimizer.iterations) == 1 + 3


def test_aft_d_is_the_discriminator_alone():
    model = _model(ablation="aft_d")
    assert not hasattr(model, "g_item_tables") and model.generator_variables() == []
    losses = model.compute_losses(_batch())
    assert float(losses["l_g"]) == float(losses["l_mmd"]) == float(losses["reward"]) == 0.0


def test_a_schedule_of_pre_training_only_is_refused():
    from tfxdr.errors import ConfigError
    from tfxdr.registry import resolve_config

    with pytest.raises(ConfigError, match=r"pretrain_epochs=5 is invalid: expected an integer "
                                          r"in \[0, epochs\) \(5\)"):
        resolve_config("aft", ["pretrain_epochs=5", "epochs=5"])


def test_hard_negative_mining_and_attention_instead_of_translation():
    sizes = dict(num_fakes=1, d_reduction="balanced")
    hnm, plain = _model(ablation="aft_hnm", **sizes), _model(ablation="aft_d", **sizes)
    assert not hasattr(hnm, "g_item_tables") and hnm.generator_variables() == []
    plain.set_weights(hnm.get_weights())
    # u0 alone, with a real click in movies only: m0-m4 clicked, m5-m7 unclicked.
    batch = {key: value[:1] for key, value in _batch().items()}
    batch["positives_books"] = batch["positives_games"] = tf.constant([["", ""]])
    user = hnm.translate(*hnm.general_representation(batch), 0)
    scores = np.asarray(user @ tf.transpose(hnm.item_matrix(0)))[0]
    clicked = tf.constant([[4, -1, 0, 1, 2, 3, -1]])
    assert int(hnm.top_unclicked(user, hnm.item_matrix(0), clicked)[0, 0]) == \
        5 + int(np.argmax(scores[5:]))
    start = np.array(hnm.sampler.state)
    terms = {}
    for name, model in (("hnm", hnm), ("plain", plain)):
        model.sampler.state.assign(start)  # the same random negatives
        terms[name] = model.compute_losses(batch, training=False)
    assert float(terms["hnm"]["l_g"]) == 0.0
    # The mined item is the best-scored unclicked one: its term is at least that of every
    # random unclicked negative, so adding it cannot lower the negatives' mean.
    assert float(terms["hnm"]["l_d"]) >= float(terms["plain"]["l_d"]) - 1e-6
    attention = _model(ablation="no_translation")
    assert not hasattr(attention, "general") and attention.translation == [attention.aggregate]
    vectors = np.asarray(attention.user_vector(_batch(), 2))
    assert vectors.shape == (3, 4) and np.isfinite(vectors).all()
