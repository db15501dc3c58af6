"""CTR over three domains (two sources, the target last), and training on some domains."""

import importlib.util
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from ctr_data import prepare_ctr, write_three_domain_taste_csv
from tfxdr import experiment
from tfxdr.cli import main
from tfxdr.config import apply_overrides
from tfxdr.models import MODELS
from tfxdr.training import set_seed

DOMAINS = ("movies", "music", "books")
HISTORIES = ("history_movies", "history_music", "history_books")
SMALL = {"cnan_at": ["shared_dim=8", "specific_dim=2", "gate_units=8,4", "fcn_units=16,8"],
         "dcn": ["shared_dim=8", "specific_dim=2", "gate_units=8,4", "fcn_units=16,8"],
         "dcn_finetune": ["shared_dim=8", "specific_dim=2", "gate_units=8,4", "fcn_units=16,8"],
         "dann_dcn": ["shared_dim=8", "gate_units=8,4", "fcn_units=16,8"],
         "din": ["embedding_dim=8", "hidden_units=16,8"],
         "lr": []}


@pytest.fixture(scope="module")
def three_domain_csv(tmp_path_factory):
    return write_three_domain_taste_csv(tmp_path_factory.mktemp("three") / "taste3.csv")


@pytest.fixture(scope="module")
def prepared(three_domain_csv):
    return prepare_ctr(three_domain_csv, domains=DOMAINS)


def _model(name, data, overrides=()):
    set_seed(0)
    spec = MODELS.get(name)
    config = apply_overrides(spec.config_cls(), [*SMALL[name], "batch_size=256", *overrides])
    return spec.create(config, data.spec, 0), config


def _settings(name, extra=()):
    return [arg for item in SMALL[name] + ["batch_size=256", *extra] for arg in ("--set", item)]


def test_cnan_at_trains_scores_and_serves_three_domains(three_domain_csv, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "cnan_at", "--dataset", str(three_domain_csv), "--domains",
                 ",".join(DOMAINS), "--out", str(run_dir), "--epochs", "1", "--quiet",
                 *_settings("cnan_at")]) == 0
    report = json.loads((run_dir / "metrics.json").read_text())
    assert list(report["metrics"]) == list(DOMAINS)
    assert all(report["metrics"][d]["instances"] > 50 for d in DOMAINS)
    # The checkpoint is chosen on the target, the last domain.
    assert report["validation"]["selection_score"] == pytest.approx(
        report["validation"]["metrics"]["books"]["auc"])
    # The run reloads from its directory (model.keras, split, feature spec) and rescores
    # every domain as reported.
    run = experiment.load_run(run_dir)
    rescored = run.task.evaluate(run.model, run.prepared, "test")
    for domain in DOMAINS:
        assert rescored[domain]["auc"] == pytest.approx(report["metrics"][domain]["auc"],
                                                        abs=1e-9)
    assert len(run.model.domain_networks) == 3 and run.model.discriminator.units == 3
    assert main(["export", str(run_dir)]) == 0
    served = tf.saved_model.load(str(run_dir / "export" / "1")).signatures["serving_default"]
    instances = run.prepared.parts["test"]
    features, _ = next(iter(instances.dataset(len(instances), shuffle=False)))
    for domain in DOMAINS:
        (row,) = np.flatnonzero(instances.columns["domain"] == domain)[:1]
        request = {name: tf.gather(value, [row]) for name, value in features.items()}
        assert set(request) == {"user_id", "item_id", "domain", *HISTORIES}
        assert request["domain"].numpy()[0].decode() == domain
        np.testing.assert_allclose(served(**request)["ctr"].numpy(),
                                   np.asarray(run.model(request, training=False)), atol=1e-5)
    # The example a user runs on an export prints the same comparison, one line per domain.
    capsys.readouterr()
    _serving_example().main([str(run_dir)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == list(DOMAINS)
    for line in lines:
        served_ctr, score = re.search(r"served ctr (\S+), run's score (\S+),", line).groups()
        assert float(served_ctr) == pytest.approx(float(score), abs=1e-4)


def _serving_example():
    path = Path(__file__).resolve().parents[1] / "examples" / "serve_ctr_requests.py"
    spec = importlib.util.spec_from_file_location("serve_ctr_requests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["dcn", "dann_dcn", "din", "lr"])
def test_ctr_models_train_on_three_domains(prepared, name, tmp_path):
    task, data = prepared
    model, config = _model(name, data)
    assert model.history_fields == list(HISTORIES)
    history = model.fit(task.train_dataset(data, config.batch_size, 0), epochs=1, verbose=0,
                        shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    metrics = task.evaluate(model, data, "test")
    assert list(metrics) == list(DOMAINS)
    # The n-domain layers (3-way classifier, 3 specific tables) save and reload.
    model.save(tmp_path / "model.keras")
    reloaded = task.evaluate(keras.saving.load_model(tmp_path / "model.keras"), data, "test")
    for domain in DOMAINS:
        assert reloaded[domain]["auc"] == pytest.approx(metrics[domain]["auc"], abs=1e-6)
    if name == "dann_dcn":  # an n-way domain classifier
        assert model.domain_classifier.classifier.units == 3
    if name == "dcn":  # a specific embedding per domain: rows x 3 in one table
        rows = data.spec.size("item_id")
        assert model.embedding.specific.embeddings["item_id"].input_dim == 3 * rows


def test_dadin_takes_exactly_two_domains(three_domain_csv, tmp_path, capsys):
    code = main(["train", "dadin", "--dataset", str(three_domain_csv), "--domains",
                 ",".join(DOMAINS), "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 2
    assert capsys.readouterr().err == ("tfxdr: error: --domains: model 'dadin' takes exactly 2 "
                                       "domains; got 3 (movies, music, books)\n")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", ["din", "dcn", "lr"])
def test_a_model_trained_on_some_domains_reads_only_their_histories(three_domain_csv, name):
    config = apply_overrides(MODELS.get(name).config_cls(), ["train_domains=books,music"])
    task, data = prepare_ctr(three_domain_csv, config=config, domains=DOMAINS)
    assert data.selection_domain == "books"
    assert set(data.parts["train"].columns["domain"]) == {"music", "books"}
    assert not [i for i in data.spec["item_id"].vocabulary if i.startswith("m")]
    model, config = _model(name, data, ["train_domains=books,music"])
    assert model.trained_domains == ("music", "books")
    assert model.history_fields == ["history_music", "history_books"]
    model.fit(task.train_dataset(data, config.batch_size, 0), epochs=1, verbose=0,
              shuffle=False)
    # The test rows of every domain are still scored.
    assert list(task.evaluate(model, data, "test")) == list(DOMAINS)
    request, _ = next(iter(data.parts["test"].dataset(64, shuffle=False)))
    request = dict(request)
    other = {name: tf.constant(np.roll(request[name].numpy(), 1, axis=0)) for name in HISTORIES}
    scored = np.asarray(model(request))
    # Another user's movie history (a domain it did not train on) changes nothing ...
    np.testing.assert_array_equal(
        np.asarray(model(dict(request, history_movies=other["history_movies"]))), scored)
    # ... while another music or book history does.
    for name in ("history_music", "history_books"):
        assert not np.array_equal(np.asarray(model(dict(request, **{name: other[name]}))),
                                  scored), name


def test_train_domains_names_select_the_rows_and_the_checkpoint_domain(three_domain_csv):
    from tfxdr.errors import ConfigError

    def prepared_with(value):
        config = apply_overrides(MODELS.get("lr").config_cls(), [f"train_domains={value}"])
        return prepare_ctr(three_domain_csv, config=config, domains=DOMAINS)[1]

    # Names are taken in the run's order: the last named domain of the run selects.
    data = prepared_with("music, movies")
    assert data.selection_domain == "music"
    assert set(data.parts["train"].columns["domain"]) == {"movies", "music"}
    assert set(data.parts["test"].columns["domain"]) == set(DOMAINS)
    for alias, names in (("source", {"movies", "music"}), ("target", {"books"}), ("all", set(DOMAINS))):
        assert set(prepared_with(alias).parts["train"].columns["domain"]) == names
    with pytest.raises(ConfigError, match=r"^train_domains='films,books' is invalid: expected "
                                          r"all, source, target or names among movies, music, "
                                          r"books$"):
        prepared_with("films,books")


@pytest.mark.parametrize("name", ["dadin", "dann"])
def test_dadin_trained_on_the_target_reads_only_its_history(tmp_path, name):
    """With ``train_domains=target`` the source's rows are gone from the run, so its
    history is empty in every training row; a served source history must not move
    the prediction, as it does not for the other models (above)."""
    from ctr_data import write_taste_csv

    path = write_taste_csv(tmp_path / "taste.csv")
    config = apply_overrides(MODELS.get(name).config_cls(), ["train_domains=target"])
    task, data = prepare_ctr(path, config=config)
    set_seed(0)
    model = MODELS.get(name).create(
        apply_overrides(config, ["embedding_dim=8", "dnn_hidden=16", "predictor_units=16"]),
        data.spec, 0)
    assert model.history_fields == ["history_books"]
    request, _ = next(iter(data.parts["test"].dataset(64, shuffle=False)))
    movies = dict(request, history_movies=tf.constant([["m1", "m2", "m3"]] * 64))
    np.testing.assert_array_equal(np.asarray(model(movies)), np.asarray(model(dict(request))))


def test_fine_tuning_pre_trains_on_every_source_then_tunes_on_the_target(prepared):
    from tfxdr.models.base import Phase

    model, _ = _model("dcn_finetune", prepared[1], ["source_epochs=2", "epochs=5"])
    assert model.training_phases(5) == [Phase(2, ("movies", "music"), selects=False),
                                        Phase(5, ("books",))]


def test_a_phase_without_training_rows_is_an_error(three_domain_csv, tmp_path, capsys):
    """A target fraction that leaves no target row: one line, no traceback, no run."""
    out = tmp_path / "run"
    code = main(["train", "dcn_finetune", "--dataset", str(three_domain_csv), "--domains",
                 ",".join(DOMAINS), "--out", str(out), "--quiet",
                 *_settings("dcn", ["target_fraction=0.00001"])])
    assert code == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tfxdr:")]
    assert lines == ["tfxdr: error: the training split has no rows of books left to train on "
                     "(see the config's train_domains and target_fraction)"]
    assert not out.exists()
