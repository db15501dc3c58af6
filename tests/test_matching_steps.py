"""The matching models' training step: gathered rows, work shared by the targets."""

import numpy as np
import pytest
import tensorflow as tf

from test_aft import TINY, _batch, _spec
from tfxdr.models import MODELS

SMALL = dict(max_len=5, dim=4, num_negatives=3)


def _model(name, overrides):
    registered = MODELS.get(name)
    model = registered.create(registered.config_cls(**overrides), _spec(), seed=0)
    model.compile_default()
    return model


@pytest.mark.parametrize("name,overrides,objective,tables", [
    ("aft", TINY, "d_loss", "item_tables"), ("aft", TINY, "loss", "g_item_tables"),
    ("two_tower", dict(SMALL, hidden_units=(8,)), "loss", "item_tables"),
    ("fm", SMALL, "loss", "item_biases")])
def test_item_tables_get_gathered_rows_that_the_fused_adam_sums_once(name, overrides, objective,
                                                                    tables):
    # A slice of a table has a dense gradient, one pass over the table per gather; the
    # gathered rows stay rows until the optimizer sums them.
    model = _model(name, overrides)
    with tf.GradientTape() as tape:
        loss = model.compute_losses(_batch())[objective]
    gradient = tape.gradient(loss, getattr(model, tables)[0].embeddings)
    assert isinstance(gradient, tf.IndexedSlices)
    assert type(model.optimizer).__name__ == "FusedAdam"


@pytest.mark.parametrize("name,overrides", [
    ("two_tower", dict(SMALL, hidden_units=(8,))),
    ("shared_bottom", dict(SMALL, bottom_units=(8,), tower_units=(6,))),
    ("mmoe", dict(SMALL, expert_units=(8,), tower_units=(6,))),
    ("fm", SMALL)])
def test_the_targets_shared_work_done_once_gives_each_targets_own_vector(name, overrides):
    model = _model(name, overrides)
    batch = _batch()
    together = model.user_vectors(batch)
    assert len(together) == 3
    for k, vector in enumerate(together):
        np.testing.assert_allclose(np.asarray(vector), np.asarray(model.user_vector(batch, k)),
                                   rtol=1e-6)
    # The targets differ (a tower, or the domain's embedding, each), but for FM.
    apart = np.abs(np.asarray(together[0]) - np.asarray(together[1])).max()
    assert (apart == 0) == (name == "fm")


def test_unclicked_finds_each_position_among_the_rows_clicks():
    model = _model("fm", SMALL)
    positions = tf.constant([[3, 0, 7, -1], [2, 2, 9, 5]])
    clicked = tf.constant([[7, -2, 3, -1], [-2, -2, -2, -2]])
    # Row 0 clicked 3 and 7 (-1 and -2: none); row 1 nothing.
    np.testing.assert_array_equal(model.unclicked(positions, clicked),
                                  [[False, True, False, False], [True, True, True, True]])
    rng = np.random.default_rng(0)
    positions = rng.integers(-2, 40, size=(16, 30))
    clicked = rng.integers(-2, 40, size=(16, 25))
    brute = ~(positions[:, :, None] == clicked[:, None, :]).any(axis=-1)
    np.testing.assert_array_equal(model.unclicked(tf.constant(positions), tf.constant(clicked)),
                                  brute)
