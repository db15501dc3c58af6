"""RecGURU and SASRec: masks, the phases and their optimizers, users of one domain,
and learning the planted order of the synthetic sequences."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tfxdr.errors import ConfigError
from tfxdr.experiment import DataConfig, train
from tfxdr.features import Feature, FeatureSpec
from tfxdr.models import MODELS, Phase
from tfxdr.registry import resolve_config

TINY = dict(max_len=6, dim=8, num_layers=1, num_heads=2, ffn_dim=16, critic_dim=8,
            dropout=0.0)


def _spec():
    return FeatureSpec(("movies", "books"), (
        Feature("user_id", "categorical", vocabulary=("u0", "u1", "u2", "u3"), entity="user"),
        Feature("items_movies", "multi_valued", vocabulary=tuple(f"m{i}" for i in range(8)),
                domain="movies", entity="item"),
        Feature("items_books", "multi_valued", vocabulary=tuple(f"b{i}" for i in range(6)),
                domain="books", entity="item")))


def _model(name="recguru", **overrides):
    registered = MODELS.get(name)
    config = registered.config_cls(**{**TINY, **overrides})
    return registered.create(config, _spec(), seed=0)


def _batch(books=True):
    """Four users' last 7 items per domain; u3 has no movies, and no books unless asked."""
    movies = [["", "", "", "m0", "m1", "m2", "m3"], ["m1", "m2", "m3", "m4", "m5", "m6", "m7"],
              ["", "", "", "", "", "m5", "m6"], ["", "", "", "", "", "", ""]]
    books_rows = [["", "", "", "", "b0", "b1", "b2"], ["", "", "", "", "", "", ""],
                  ["", "b1", "b2", "b3", "b4", "b5", "b0"], ["", "", "", "", "", "b3", "b4"]]
    if not books:
        books_rows = [[""] * 7] * 4
    return {"user_id": tf.constant(["u0", "u1", "u2", "u3"]),
            "items_movies": tf.constant(movies), "items_books": tf.constant(books_rows)}


def test_the_encoder_masks_padding_and_reads_every_item_and_eos():
    model = _model()
    tokens = tf.gather(model.tokens(_batch(), 0, 6), [0, 2])[:, 2:]  # 4 and 2 items
    gur = np.asarray(model.encode(tokens, 0))
    # Two more columns of padding: the [eos] output cannot change if padding is masked.
    padded = tf.concat([tf.zeros((2, 2), tokens.dtype), tokens], axis=1)
    np.testing.assert_allclose(np.asarray(model.encode(padded, 0)), gur, atol=1e-5)
    # The row's oldest item changed changes the representation.
    changed = tf.tensor_scatter_nd_update(tokens, [[0, 0]], [tokens[1, 3]])
    assert np.abs(np.asarray(model.encode(changed, 0))[0] - gur[0]).max() > 1e-4


def test_fine_tuning_never_shows_the_gur_an_item_it_trains_to_predict():
    model = _model()
    history = model.tokens(_batch(), 0, 7)[:, :-1]  # 4, 6, 1 and 0 items
    for _ in range(20):  # the prefix is drawn per row
        prefix, trainable = (np.asarray(t) for t in model._unseen_context(history))
        for row, keep, mask in zip(np.asarray(history), prefix, trainable):
            count = int((row != 0).sum())
            kept = int((keep != 0).sum())
            assert (count == 0 and kept == 0) or 1 <= kept <= count
            # The prefix is the row's first `kept` items, left-padded.
            np.testing.assert_array_equal(keep[len(row) - kept:],
                                          row[len(row) - count:][:kept])
            # Position t predicts the item after it: trained only when that item is
            # not in the prefix (the last position predicts the held-out next item).
            assert list(np.flatnonzero(mask)) == list(range(len(row) - 1 - count + kept,
                                                              len(row)))


def test_the_critic_takes_d_steps_updates_per_generator_update():
    model = _model(d_steps=5)
    model.start_phase(Phase(1, name="adversarial"))
    step = tf.function(model.train_step)
    for _ in range(3):
        logs = step(_batch())
    assert int(model.optimizer.iterations) == 3
    assert int(model.d_optimizer.iterations) == 5 * int(model.optimizer.iterations)
    assert int(model.extra_optimizers["pretrain"].iterations) == 0
    assert int(model.extra_optimizers["finetune"].iterations) == 0
    assert float(logs["gradient_penalty"]) > 0 and float(logs["l2"]) > 0
    model.start_phase(Phase(2, name="finetune"))
    tf.function(model.train_step)(_batch())
    assert int(model.extra_optimizers["finetune"].iterations) == 1
    assert int(model.optimizer.iterations) == 3 and int(model.d_optimizer.iterations) == 15


def test_each_phase_updates_only_its_own_networks():
    model = _model()
    before = {v.path: np.array(v) for v in model.trainable_variables}

    def changed():
        now = {v.path: np.array(v) for v in model.trainable_variables}
        return {path.split("/")[1] for path in now if not np.array_equal(now[path], before[path])}

    model.start_phase(Phase(1, name="pretrain"))
    tf.function(model.train_step)(_batch())
    assert changed() == {"embedding_0", "embedding_1", "encoder_0_0", "decoder_0_0",
                         "decoder_1_0"}
    before = {v.path: np.array(v) for v in model.trainable_variables}
    model.start_phase(Phase(2, name="finetune"))
    tf.function(model.train_step)(_batch())
    assert changed() == {"embedding_0", "embedding_1", "cdsrec_0_0", "cdsrec_1_0"}


def test_users_of_one_domain_train_and_the_l2_term_reads_users_of_both():
    model = _model()
    model.start_phase(Phase(1, name="adversarial"))
    logs = tf.function(model.train_step)(_batch(books=False))  # nobody has books
    assert float(logs["l2"]) == 0.0 and float(logs["gradient_penalty"]) == 0.0
    assert all(np.isfinite(float(v)) for v in logs.values())
    # u0 and u2 have both domains: the l2 term is the mean distance of their two GURs
    # (logged before the step's update; a new model, as the logs average over steps).
    model = _model()
    model.start_phase(Phase(1, name="adversarial"))
    batch = _batch()
    gurs = [np.asarray(model.user_representation(batch, k)) for k in (0, 1)]
    expected = np.mean([np.linalg.norm(gurs[0][u] - gurs[1][u]) for u in (0, 2)])
    present = [np.asarray(model._domain_items(batch, k)[1]) for k in (0, 1)]
    np.testing.assert_array_equal(present[0], [True, True, True, False])
    np.testing.assert_array_equal(present[1], [True, False, True, True])
    logs = tf.function(model.train_step)(batch)
    assert float(logs["l2"]) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("ablation", ["full", "no_critic"])
def test_the_generator_gradient_taken_per_domain_is_the_gradient_of_eq_13(ablation):
    model = _model(ablation=ablation, l2_weight=0.7, reconstruction_negatives=0)  # no draws
    batch, variables = _batch(), model.generator_variables()
    with tf.GradientTape() as tape:
        loss = model.joint_generator_loss(batch)
    expected = tape.gradient(loss, variables)
    gradients, terms = model._generator_gradients(batch, model._held_gurs(batch))
    assert float(terms["loss"]) == pytest.approx(float(loss), rel=1e-5)
    for want, got, variable in zip(expected, gradients, variables):
        assert (want is None) == (got is None), variable.path
        if want is not None:
            np.testing.assert_allclose(np.asarray(tf.convert_to_tensor(got)),
                                       np.asarray(tf.convert_to_tensor(want)),
                                       rtol=1e-4, atol=1e-6, err_msg=variable.path)


def test_ablations_drop_their_terms():
    single = _model("recguru_single")
    assert len(single.encoders) == 2 and not single.config.uses_critic
    single.start_phase(Phase(1, name="adversarial"))
    tf.function(single.train_step)(_batch())
    assert int(single.d_optimizer.iterations) == 0
    seqrec = _model(ablation="no_autoencoder")
    assert seqrec.encoders == [] and [p.name for p in seqrec.training_phases(5)] == ["finetune"]
    full = _model()
    assert [(p.name, p.last_epoch, p.selects) for p in full.training_phases(30)] == [
        ("pretrain", 3, False), ("adversarial", 6, False), ("finetune", 30, True)]


def test_a_schedule_without_fine_tuning_epochs_is_refused():
    with pytest.raises(ConfigError, match="epochs=6 is invalid: expected more than "
                                          "pretrain_epochs \\+ adversarial_epochs \\(6\\)"):
        resolve_config("recguru", ["epochs=6"])


def _planted_csv(tmp_path):
    from tfxdr.data.synthetic import planted_sequences

    path = tmp_path / "sequences.csv"
    planted_sequences(num_users=300, items_per_domain=(120, 80), lengths=(8, 5),
                      seed=3).to_csv(path, index=False)
    return path


TRANSFORMER = ["max_len=6", "dim=16", "num_layers=1", "num_heads=1", "ffn_dim=32"]


@pytest.mark.parametrize("name,overrides,metric,low,high", [
    # Order: the next item is the successor of the last one.
    ("sasrec", TRANSFORMER, "full_hr@5", 0.6, 1.0),
    ("bert4rec", TRANSFORMER, "full_hr@5", 0.6, 1.0),
    ("recguru", TRANSFORMER + ["pretrain_epochs=2", "adversarial_epochs=2",
                               "adversarial_learning_rate=1e-3"], "full_hr@5", 0.6, 1.0),
    # The group alone: the next item is one of the 15-25 block items not yet seen.
    ("bprmf", ["max_len=6", "dim=16"], "full_hr@5", 0.15, 0.6),
    # Neither: 20 of about 110 items.
    ("pop_seq", ["max_len=6"], "full_hr@20", 0.0, 0.35),
])
def test_sequence_models_learn_what_they_can_of_the_planted_order(name, overrides, metric,
                                                                  low, high, tmp_path):
    """The next item is the block's successor of the last one, in blocks of 20-30 items
    per group: learnable from order, a little from the group, not from popularity."""
    fast = ["batch_size=32", "learning_rate=0.01", "patience=0"]
    report = train(name, DataConfig(dataset=str(_planted_csv(tmp_path)),
                                    domains=("books", "movies")),
                   tmp_path / "run", overrides=overrides + fast,
                   epochs=1 if name == "pop_seq" else 16, verbose=0)
    for domain in ("books", "movies"):
        metrics = report["metrics"][domain]
        assert low <= metrics[metric] <= high, (domain, metrics)
        if name != "pop_seq":  # (equal counts tie; a tie counts against a sampled positive)
            assert metrics["hr@5"] >= metrics["full_hr@5"] - 1e-9  # fewer competitors
    if name != "recguru":
        return
    assert len((tmp_path / "run" / "history.csv").read_text().splitlines()) == 17
    negatives = sorted(p.name for p in (tmp_path / "run" / "negatives").iterdir())
    assert negatives == ["test-books.npz", "test-movies.npz", "val-books.npz", "val-movies.npz"]
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["task"] == "sequences" and saved["split"]["kind"] == "leave_one_out"


def test_overlap_ratio_leaves_that_share_of_the_common_users_common(tmp_path):
    import pandas as pd

    sizes = ["max_len=4", "dim=8", "num_layers=1", "num_heads=1", "ffn_dim=8"]
    data = DataConfig(dataset=str(_planted_csv(tmp_path)), domains=("books", "movies"),
                      overlap_ratio=0.3)
    train("sasrec", data, tmp_path / "run", overrides=sizes, epochs=1, verbose=0)
    split = pd.read_parquet(tmp_path / "run" / "split" / "interactions.parquet")
    domains_of = split.groupby("user_id")["domain"].nunique()
    assert len(domains_of) == 300 and (domains_of == 2).sum() == 90  # 30% of 300
    assert (domains_of == 1).sum() == 210
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["data"]["overlap_ratio"] == 0.3


def test_next_item_scoring_is_traced_once_for_every_batch_shape():
    from tfxdr.models.sequence_base import traced_once

    traces = []

    def widths(inputs):
        traces.append(sorted(inputs))
        return tf.shape(inputs["items_a"])[1] * 10 + tf.size(inputs["user_id"])

    scorer = traced_once(widths)
    assert int(scorer({"items_a": tf.zeros([2, 3], tf.int64), "user_id": tf.constant(["u", "v"])})) == 32
    assert int(scorer({"items_a": np.zeros([5, 7], np.int64),
                       "user_id": tf.constant(["u"] * 5)})) == 75
    assert traces == [["items_a", "user_id"]]
