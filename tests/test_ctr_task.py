"""The cross-domain CTR path end to end: cold-start split, instances, lr, AUC per domain."""

import json

import numpy as np
import pandas as pd
import pytest

from ctr_data import planted_taste, prepare_ctr
from tfxdr.cli import main
from tfxdr.experiment import evaluate
from tfxdr.metrics import auc


def test_lr_learns_planted_clicks_and_evaluate_reproduces(ctr_csv, tmp_path):
    out = tmp_path / "run"
    code = main(["train", "lr", "--dataset", str(ctr_csv), "--domains", "movies,books",
                 "--out", str(out), "--epochs", "15", "--quiet", "--set", "batch_size=256"])
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    target = report["metrics"]["books"]
    assert set(target) == {"auc", "logloss", "instances"}
    # The planted item effect (clicks 0.85 / 0.15) has a Bayes AUC of
    # 0.85^2 + 0.85 * 0.15 = 0.85, and a logloss of 0.42; chance is 0.5 and 0.69.
    assert target["auc"] > 0.75
    assert target["logloss"] < 0.6
    split = pd.read_parquet(out / "split" / "interactions.parquet")
    evaluated = split[split["split"].isin(["val", "test"])]
    assert set(evaluated["domain"]) == {"books", "movies"}  # target and source scored
    assert report["metrics"]["movies"]["auc"] > 0.75
    spec = json.loads((out / "split" / "spec.json").read_text())
    assert spec["kind"] == "cold_start" and spec["a_train"] == 0.8 and spec["a_cross"] == 0.1
    rescored = evaluate(out)["metrics"]["books"]
    assert rescored["auc"] == pytest.approx(target["auc"], abs=1e-9)
    assert rescored["logloss"] == pytest.approx(target["logloss"], abs=1e-6)


SMALL = {"dadin": ["embedding_dim=8", "dnn_hidden=16", "predictor_units=16"],
         "dann": ["embedding_dim=8", "dnn_hidden=16", "predictor_units=16"],
         "din": ["embedding_dim=8", "hidden_units=16,8"],
         "lr": []}


def _build(name, task, data, overrides=()):
    from tfxdr.config import apply_overrides
    from tfxdr.models import MODELS
    from tfxdr.training import set_seed

    set_seed(0)
    spec = MODELS.get(name)
    config = apply_overrides(spec.config_cls(), [*SMALL[name], "batch_size=256", *overrides])
    return spec.create(config, data.spec, 0), config


def _fit_and_score(name, path, epochs, overrides=()):
    task, data = prepare_ctr(path)
    model, config = _build(name, task, data, overrides)
    dataset = task.train_dataset(data, config.batch_size, 0)
    model.fit(dataset, epochs=epochs, verbose=0, shuffle=False,
              callbacks=model.training_callbacks(epochs * int(dataset.cardinality())))
    return model, task.evaluate(model, data, "test")


def test_the_planted_taste_has_a_bayes_auc_of_0_9_on_the_test_rows(taste_csv):
    """The bars of the taste tests below are set from this ceiling.

    Clicks are 0.9 likely when the item's parity matches the user's taste, else
    0.1; half the items match.  Scoring by the match alone (the Bayes score)
    ranks a click above a non-click with probability 0.9 * 0.9 + 0.5 *
    (2 * 0.9 * 0.1) = 0.9; the finite test rows give close to that.
    """
    task, data = prepare_ctr(taste_csv)
    columns = data.parts["test"].columns
    for domain in ("movies", "books"):
        rows = columns["domain"] == domain
        ceiling = auc(columns["label"][rows],
                      planted_taste(columns["user_id"][rows], columns["item_id"][rows]))
        assert abs(ceiling - 0.9) < 0.03, (domain, ceiling)


# The taste tests' bar: 0.1 under the Bayes AUC of 0.9 (above), and 0.15 over what a
# model blind to the taste reaches (lr, below).  After 5 to 10 epochs, din reaches 0.89
# to 0.93 on both domains over seeds 0-9, and DADIN's extractor (paper sizes, no
# adversarial losses) 0.87 to 0.91 over seeds 0-4: 0.8 leaves a margin that no change
# of BLAS or kernel order crosses.
TASTE_BAR = 0.8


@pytest.mark.parametrize("name, overrides", [
    ("din", []),
    # DADIN's extractor and predictor (attention, interest weights, Bi-interaction, DNN,
    # domain-agnostic layer) at the paper's sizes, without the adversarial losses.  The
    # Bi-interaction of small initial embeddings feeds the DNN inputs of ~1e-3, so while
    # the click loss sits on its plateau (the taste needs a history x candidate
    # interaction), Adam's steps on the biases can switch off every ReLU of the DNN for
    # good: with 8 units that happened in 1 of seeds 0-9 (AUC 0.5), with the paper's 64
    # in none of seeds 0-4.  The adversarial losses at their weight of 1 from the first
    # step make it likelier (2 of seeds 0-4 at 8 units, 1 at 64; DANN 4 of 5), so no
    # bar on the full model holds on every machine.
    ("dadin", ["ablation=dadin9", "embedding_dim=64", "dnn_hidden=128",
               "predictor_units=100"]),
])
def test_history_models_read_the_taste_that_only_histories_reveal(taste_csv, name, overrides):
    _, metrics = _fit_and_score(name, taste_csv, epochs=6, overrides=overrides)
    assert metrics["books"]["auc"] > TASTE_BAR and metrics["movies"]["auc"] > TASTE_BAR, metrics


def test_lr_cannot_read_the_taste(taste_csv):
    # Additive weights cannot express "candidate parity matches history parity".
    _, metrics = _fit_and_score("lr", taste_csv, epochs=5)
    assert metrics["books"]["auc"] < 0.65, metrics


def test_dadin_learns_planted_clicks(ctr_csv):
    """The full DADIN, adversarial losses included, learns a first-order signal.

    The planted item effect's Bayes AUC is 0.85.  After 12 epochs DADIN reaches 0.76 to
    0.81 on the books test rows over seeds 0-4 (0.71 to 0.81 after 15: its adversarial
    losses cost it AUC, see the taste test), so the bar sits 0.2 under the ceiling and
    0.15 over chance.
    """
    _, metrics = _fit_and_score("dadin", ctr_csv, epochs=12)
    assert metrics["books"]["auc"] > 0.65, metrics


def test_interest_weights_by_hand_and_capped(ctr_csv):
    """v_w = exp(min(g_w^T ReLU(V_w [q||p||a||b] + c_V) + c_g, cap)) (Eq. 6)."""
    task, data = prepare_ctr(ctr_csv)
    model, _ = _build("dadin", task, data, ["interest_log_cap=2.5"])
    rng = np.random.default_rng(0)
    q, p, a, b = (rng.normal(0, 1, (16, 8)).astype(np.float32) for _ in range(4))
    _, g_u = model.interest["u"]
    g_u.bias.assign([2.5])  # scores of the profile weight straddle the cap
    weights = [np.asarray(w).ravel() for w in model.interest_weights(q, p, a, b)]
    joint = np.concatenate([q, p, a, b], axis=1)
    for w, got in zip("uts", weights):
        hidden, score = model.interest[w]
        h = np.maximum(joint @ np.asarray(hidden.kernel) + np.asarray(hidden.bias), 0)
        s = (h @ np.asarray(score.kernel) + np.asarray(score.bias)).ravel()
        np.testing.assert_allclose(got, np.exp(np.minimum(s, 2.5)), rtol=1e-5)
    capped = np.isclose(weights[0], np.exp(2.5))
    assert 0 < capped.sum() < len(capped)


PARTS = {"attention": lambda m: set(m.poolings) == {"target", "source"},
         "interest": lambda m: set(m.interest) == {"u", "t", "s"},
         "bi": lambda m: m.bi_interaction is not None,
         "dnn": lambda m: len(m.dnn) == 2,
         "da": lambda m: m.domain_agnostic is not None}


@pytest.mark.parametrize("ablation", [f"dadin{i}" for i in range(1, 10)] + ["dadin"])
def test_dadin_ablations_build_exactly_their_parts(ctr_csv, ablation):
    task, data = prepare_ctr(ctr_csv)
    model, config = _build("dadin", task, data, [f"ablation={ablation}"])
    assert {part: check(model) for part, check in PARTS.items()} == {
        part: config.has(part) for part in PARTS}
    assert (model.crossing_off is None) == (config.has("bi") or config.has("dnn"))
    expected = ({"global"} if config.has("global") else set()) | (
        {"positive", "negative"} if config.has("intra") else set())
    assert set(model.domain_classifiers.classifiers) == expected
    assert config.has("global") == (ablation not in ("dadin7", "dadin9"))
    assert config.has("intra") == (ablation not in ("dadin8", "dadin9"))
    request, _ = next(iter(data.parts["train"].dataset(8, shuffle=False)))
    assert model(request).shape == (8,)


@pytest.mark.parametrize("ablation", ["dadin", "dadin7", "dadin8", "dadin9"])
def test_dadin_trains_exactly_its_domain_classifiers(ctr_csv, ablation):
    task, data = prepare_ctr(ctr_csv)
    model, config = _build("dadin", task, data, [f"ablation={ablation}"])
    classifiers = model.domain_classifiers.classifiers
    before = {name: np.array(c.classifier.kernel) for name, c in classifiers.items()}
    history = model.fit(task.train_dataset(data, config.batch_size, 0).take(3), epochs=1,
                        verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    assert all(not np.array_equal(before[name], np.array(c.classifier.kernel))
               for name, c in classifiers.items())
    # The classifiers are the second player: one update of theirs per step (none left
    # to update without them).
    assert int(model.optimizer.iterations) == 3
    assert int(model.d_optimizer.iterations) == (3 if classifiers else 0)


def test_dadin_config_errors():
    from tfxdr.config import apply_overrides
    from tfxdr.errors import ConfigError
    from tfxdr.models import DADINConfig

    with pytest.raises(ConfigError, match=r"DADINConfig.ablation='dadin10' is invalid: "
                                          r"expected one of dadin, dadin1, "):
        apply_overrides(DADINConfig(), ["ablation=dadin10"])


def test_dann_is_dadin_extractor_with_one_fixed_classifier(ctr_csv):
    from tfxdr.config import apply_overrides
    from tfxdr.errors import ConfigError
    from tfxdr.models import DANNConfig

    config = DANNConfig()
    assert config.has("global") and not config.has("da") and not config.has("intra")
    with pytest.raises(ConfigError, match=r"DANNConfig.ablation='dadin' is invalid: "
                                          r"expected one of dann$"):
        apply_overrides(DANNConfig(), ["ablation=dadin"])
    task, data = prepare_ctr(ctr_csv)
    model, _ = _build("dann", task, data)
    assert set(model.domain_classifiers.classifiers) == {"global"}
    assert model.domain_agnostic is None
    assert model.domain_classifiers.classifiers["global"].input_activation == "tanh"


def test_bench_summarises_ctr_runs_by_auc_per_domain(ctr_csv, tmp_path):
    out = tmp_path / "bench"
    code = main(["bench", "--models", "lr,strong=lr", "--dataset", str(ctr_csv), "--domains",
                 "movies,books", "--seeds", "0,1", "--epochs", "2", "--out", str(out),
                 "--set", "strong:l2=0.1"])
    assert code == 0
    summary = (out / "summary.md").read_text()
    assert "| model | settings | key | seeds | auc | logloss |" in summary
    assert "| lr | defaults | books | 2 |" in summary
    assert "| strong | defaults; l2=0.1 | movies | 2 |" in summary
    assert "Paired differences in auc (same seed = same split):" in summary
    aucs = [json.loads((out / "lr" / f"seed-{s}" / "metrics.json").read_text())
            ["metrics"]["books"]["auc"] for s in (0, 1)]
    cell = f"{np.mean(aucs):.4f} ± {np.std(aucs, ddof=1):.4f}"
    assert f"| lr | defaults | books | 2 | {cell} |" in summary


def test_bench_refuses_to_mix_tasks(ctr_csv, tmp_path, capsys):
    code = main(["bench", "--models", "lr,pop", "--dataset", str(ctr_csv), "--domains",
                 "movies,books", "--out", str(tmp_path / "b")])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "tfxdr: error: --models mixes tasks (clicks, ctr); a bench compares models of one task")


def test_dadin_reversal_warmup_follows_the_schedule_during_fit(ctr_csv):
    task, data = prepare_ctr(ctr_csv)
    model, config = _build("dadin", task, data, ["grl_warmup_gamma=10"])
    dataset = task.train_dataset(data, config.batch_size, 0)
    steps = int(dataset.cardinality())
    (warmup,) = model.training_callbacks(2 * steps)
    model.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=[warmup])
    # Half-way through training: lambda * (2 / (1 + exp(-10 * 0.5)) - 1) of the last step.
    expected = 2 / (1 + np.exp(-10 * (steps - 1) / (2 * steps))) - 1
    for name, classifier in model.domain_classifiers.classifiers.items():
        assert float(classifier.reversal.warmup) == pytest.approx(expected, rel=1e-6), name
    assert _build("dadin", task, data)[0].training_callbacks(10) == []


def test_ctr_bench_defaults_to_five_seeds(ctr_csv, tmp_path):
    out = tmp_path / "bench"
    assert main(["bench", "--models", "lr", "--dataset", str(ctr_csv), "--domains",
                 "movies,books", "--epochs", "1", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "lr").iterdir()) == [f"seed-{s}" for s in range(5)]
    assert "| lr | defaults | books | 5 |" in (out / "summary.md").read_text()
