"""Ids training never saw: cold-start users map to the unknown index, whose weights are
trained by replacing a share of known ids while training (``unknown_id_rate``)."""

import numpy as np
import pytest
import tensorflow as tf

from ctr_data import prepare_ctr
from tfxdr.config import apply_overrides
from tfxdr.models import MODELS
from tfxdr.training import set_seed


@pytest.fixture(scope="module")
def taste(tmp_path_factory):
    from ctr_data import write_taste_csv

    return prepare_ctr(write_taste_csv(tmp_path_factory.mktemp("taste") / "taste.csv"))


def _lr(data, rate):
    set_seed(0)
    spec = MODELS.get("lr")
    config = apply_overrides(spec.config_cls(), ["batch_size=256", f"unknown_id_rate={rate}"])
    return spec.create(config, data.spec, 0), config


def _test_batch(data, rows=256):
    request, labels = next(iter(data.parts["test"].dataset(rows, shuffle=False)))
    return dict(request), labels


def test_cold_start_test_users_map_to_the_unknown_index(taste):
    _, data = taste
    vocabulary = data.spec["user_id"].vocabulary
    train_users = set(data.parts["train"].columns["user_id"])
    assert set(vocabulary) == train_users  # the spec comes from the training rows only
    cold = sorted(set(data.parts["test"].columns["user_id"]) - train_users)
    warm = sorted(set(data.parts["test"].columns["user_id"]) & train_users)
    assert len(cold) > 10 and warm  # most evaluated users are cold, a few overlap
    model, _ = _lr(data, 0.05)
    indices = model.preprocessor({"user_id": tf.constant(cold + warm)})["user_id"].numpy()
    np.testing.assert_array_equal(indices[:len(cold)], 1)
    np.testing.assert_array_equal(indices[len(cold):], [vocabulary.index(u) + 2 for u in warm])


def test_unknown_id_dropout_replaces_a_share_of_known_ids_in_training_only(taste):
    _, data = taste
    model, _ = _lr(data, 0.3)
    request, _ = next(iter(data.parts["train"].dataset(256, shuffle=False)))
    clean = model.indices(request, training=False)
    for name, value in model.preprocessor(request).items():
        np.testing.assert_array_equal(clean[name].numpy(), value.numpy(), err_msg=name)
    dropped = model.indices(request, training=True)
    replaced, known = 0, 0
    for name in ("user_id", "item_id", "history_movies", "history_books"):
        before, after = clean[name].numpy(), dropped[name].numpy()
        changed = before != after
        assert (after[changed] == 1).all() and (before[changed] >= 2).all(), name
        np.testing.assert_array_equal(after[before == 0], 0)  # padding stays padding
        replaced, known = replaced + changed.sum(), known + (before >= 2).sum()
    assert known > 2000 and abs(replaced / known - 0.3) < 0.05
    np.testing.assert_array_equal(dropped["domain"].numpy(), clean["domain"].numpy())


def _unknown_rows(model):
    return {name: float(np.asarray(model.weights_by_field[name].embeddings)[1, 0])
            for name in ("user_id", "item_id", "history_item")}


@pytest.mark.parametrize("rate", [0.0, 0.2])
def test_the_unknown_rows_train_only_with_unknown_id_dropout(taste, rate):
    task, data = taste
    model, config = _lr(data, rate)
    assert _unknown_rows(model) == {"user_id": 0.0, "item_id": 0.0, "history_item": 0.0}
    model.fit(task.train_dataset(data, config.batch_size, 0), epochs=2, verbose=0,
              shuffle=False)
    moved = {name: value != 0.0 for name, value in _unknown_rows(model).items()}
    # Training rows hold known ids only, so without the dropout the unknown rows keep
    # their initial zeros; with it they learn what an unseen id is worth.
    assert moved == {name: rate > 0 for name in moved}


def test_lr_scores_cold_users_with_the_unknown_row_by_hand(taste):
    task, data = taste
    model, config = _lr(data, 0.2)
    model.fit(task.train_dataset(data, config.batch_size, 0), epochs=1, verbose=0,
              shuffle=False)
    request, _ = _test_batch(data)
    spec = data.spec
    weights = {name: np.asarray(table.embeddings)[:, 0]
               for name, table in model.weights_by_field.items()}

    def index(name, raw):
        vocabulary = spec[name].vocabulary
        return 0 if raw == "" else vocabulary.index(raw) + 2 if raw in vocabulary else 1

    raw = {name: value.numpy().astype(str) for name, value in request.items()}
    logits = []
    for row in range(len(raw["user_id"])):
        logit = float(np.asarray(model.bias))
        logit += weights["user_id"][index("user_id", raw["user_id"][row])]
        logit += weights["item_id"][index("item_id", raw["item_id"][row])]
        logit += weights["domain"][spec.domains.index(raw["domain"][row])]
        for name in ("history_movies", "history_books"):
            logit += sum(weights["history_item"][index("item_id", i)]
                         for i in raw[name][row] if i)
        logits.append(logit)
    cold = [index("user_id", u) == 1 for u in raw["user_id"]]
    assert 0 < sum(cold) < len(cold)
    np.testing.assert_allclose(np.asarray(model(request)), 1 / (1 + np.exp(-np.array(logits))),
                               rtol=1e-5)
