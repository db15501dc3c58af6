"""The cross-domain CTR path end to end: cold-start split, instances, lr, AUC per domain."""

import json

import numpy as np
import pandas as pd
import pytest

from tfxdr.cli import main
from tfxdr.experiment import evaluate


@pytest.fixture()
def ctr_csv(tmp_path):
    """Two domains; a click is likely exactly on the 'good' half of each domain's items."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(300):
        clock = 1_000_000 + user * 500_000
        for domain, prefix in (("movies", "m"), ("books", "b")):
            for _ in range(12):
                item = int(rng.integers(0, 40))
                good = item % 2 == 0
                label = int(rng.random() < (0.85 if good else 0.15))
                clock += int(rng.integers(600, 30_000))
                rows.append((f"u{user}", f"{prefix}{item}", domain, clock, label))
    path = tmp_path / "clicks.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp", "label"]).to_csv(
        path, index=False)
    return path


def test_lr_learns_planted_clicks_and_evaluate_reproduces(ctr_csv, tmp_path):
    out = tmp_path / "run"
    code = main(["train", "lr", "--dataset", str(ctr_csv), "--domains", "movies,books",
                 "--out", str(out), "--epochs", "15", "--quiet", "--set", "batch_size=256"])
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    target = report["metrics"]["books"]
    assert set(target) == {"auc", "logloss", "instances"}
    # The planted item effect gives an AUC near 0.85 / 0.15 separation; chance is 0.5.
    assert target["auc"] > 0.75
    assert 0 < target["logloss"] < 0.69
    split = pd.read_parquet(out / "split" / "interactions.parquet")
    evaluated = split[split["split"].isin(["val", "test"])]
    assert set(evaluated["domain"]) == {"books"}  # only the target domain is evaluated
    spec = json.loads((out / "split" / "spec.json").read_text())
    assert spec["kind"] == "cold_start" and spec["a_train"] == 0.8 and spec["a_cross"] == 0.1
    rescored = evaluate(out)["metrics"]["books"]
    assert rescored["auc"] == pytest.approx(target["auc"], abs=1e-9)
    assert rescored["logloss"] == pytest.approx(target["logloss"], abs=1e-6)


def _prepared(ctr_csv):
    from tfxdr.data import SplitSpec, Vocabularies, load_dataset, make_split, select_domains
    from tfxdr.tasks import CtrTask

    interactions = select_domains(load_dataset(ctr_csv), ("movies", "books"))
    split = make_split(interactions, SplitSpec(kind="cold_start", seed=0))
    vocabs = Vocabularies.build(split, interactions.domains)
    task = CtrTask()
    return task, task.prepare(split, vocabs, interactions.domains, interactions)


def _dadin(task, data, overrides):
    from tfxdr.config import apply_overrides
    from tfxdr.models import MODELS
    from tfxdr.training import set_seed

    set_seed(0)
    spec = MODELS.get("dadin")
    config = apply_overrides(spec.config_cls(), ["embedding_dim=8", "dnn_hidden=16",
                                                 "predictor_units=16", "batch_size=256",
                                                 *overrides])
    model = spec.build(config, data.sizes, 0)
    model(task.example_batch(data))
    return model, config


def test_dadin_learns_planted_clicks(ctr_csv):
    task, data = _prepared(ctr_csv)
    model, config = _dadin(task, data, [])
    model.fit(task.train_dataset(data, config.batch_size, 0), epochs=12, verbose=0,
              shuffle=False)
    assert task.evaluate(model, data, "test")["books"]["auc"] > 0.75
    weights = model.interest_weights(*[np.ones((2, 8), np.float32)] * 4)
    assert all(0 < float(np.min(w)) and float(np.max(w)) <= np.exp(3.0) + 1e-4 for w in weights)


@pytest.mark.parametrize("ablation, adversarial", [
    ("dadin", True), ("dadin1", True), ("dadin3", True), ("dadin5", True), ("dadin6", True),
    ("dadin9", False),
])
def test_dadin_ablations_train_and_switch_the_adversarial_branch(ctr_csv, ablation,
                                                                 adversarial):
    task, data = _prepared(ctr_csv)
    model, config = _dadin(task, data, [f"ablation={ablation}"])
    before = np.array(model.classifiers["global"].kernel)
    history = model.fit(task.train_dataset(data, config.batch_size, 0), epochs=1, verbose=0,
                        shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    after = np.array(model.classifiers["global"].kernel)
    assert (not np.array_equal(before, after)) == adversarial


def test_dadin_config_errors():
    from tfxdr.config import apply_overrides
    from tfxdr.errors import ConfigError
    from tfxdr.models import DADINConfig

    with pytest.raises(ConfigError, match=r"DADINConfig.ablation='dadin10' is invalid: "
                                          r"expected one of dadin, dadin1, "):
        apply_overrides(DADINConfig(), ["ablation=dadin10"])
