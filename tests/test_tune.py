"""`tfxdr tune`: search spaces, a real study on planted data (validation only), its
resume after a finished or a killed trial, pruning, `train --config`, bad input."""

import csv
import json
import re
import shutil
import subprocess
import sys

import keras
import optuna
import pytest

from tfxdr import tuning
from tfxdr.cli import main
from tfxdr.config import (Choice, LogUniform, Uniform, apply_overrides, apply_values,
                          field_names, read_config_file, to_dict)
from tfxdr.errors import ConfigError
from tfxdr.models import MODELS, MultiVAEConfig
from tfxdr.tasks.clicks import ClickTranslationTask

optuna.logging.set_verbosity(optuna.logging.WARNING)

FIXED = ["hidden_dims=64", "latent_dim=16"]
EPOCHS = 3


def _tune(csv_path, out, trials, *extra):
    sets = [arg for item in FIXED for arg in ("--set", item)]
    return main(["tune", "multivae", "--dataset", str(csv_path), "--domains", "books,movies",
                 "--trials", str(trials), "--epochs", str(EPOCHS), "--out", str(out), *sets,
                 *extra])


def _rows(out):
    with open(out / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _study(out):
    return optuna.load_study(study_name=tuning.STUDY_NAME,
                             storage=f"sqlite:///{out / tuning.STUDY_FILE}")


def _error_line(capsys):
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tfxdr:")]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def planted_file(tmp_path_factory, planted_frame):
    path = tmp_path_factory.mktemp("data") / "interactions.csv"
    planted_frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory, planted_file):
    """A finished study of 3 trials, every call of the task's evaluate recorded."""
    out = tmp_path_factory.mktemp("tune") / "study"
    parts = []
    evaluate = ClickTranslationTask.evaluate

    def recording(self, model, data, part):
        parts.append(part)
        return evaluate(self, model, data, part)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ClickTranslationTask, "evaluate", recording)
        assert _tune(planted_file, out, 3, "--quiet") == 0
    return out, parts


# Search spaces and config values --------------------------------------------------


@pytest.mark.parametrize("name", MODELS.names())
def test_every_search_space_names_fields_and_samples_valid_configs(name):
    config_cls = MODELS.get(name).config_cls
    space = config_cls.search_space
    assert set(space) <= set(field_names(config_cls)), sorted(set(space) - set(field_names(
        config_cls)))
    assert all(isinstance(s, (Uniform, LogUniform, Choice)) for s in space.values())
    draws = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = draws.ask()
        values = tuning.field_values(name, {field: tuning.suggest(trial, field, s)
                                            for field, s in space.items()})
        config = apply_values(config_cls(), values)  # type-checked, then validate()
        assert {field: getattr(config, field) for field in space} == {
            field: tuple(v) if isinstance(v, list) else v for field, v in values.items()}
    for edge in ("low", "high"):  # the ends of every range are valid too
        apply_values(config_cls(), tuning.field_values(name, {
            field: getattr(s, edge) for field, s in space.items()
            if not isinstance(s, Choice)}))


def test_a_number_drawn_for_a_grid_field_is_a_grid_of_one_value():
    assert tuning.field_values("ridge", {"l2": 300.0}) == {"l2": [300.0]}
    assert tuning.field_values("itemknn", {"shrink": 5.0, "neighbours": 50}) == {
        "shrink": [5.0], "neighbours": 50}
    config = apply_values(MODELS.get("ease").config_cls(), {"l2": [300.0]})
    assert config.grid() == (300.0,)


def test_models_with_nothing_to_learn_declare_nothing_to_tune():
    for name in ("pop", "pop_seq", "pop_match"):
        assert MODELS.get(name).config_cls.search_space == {}
    assert set(MODELS.get("multivae").config_cls.search_space) == {
        "learning_rate", "dropout", "beta_cap", "batch_size"}


def test_search_space_leaves_out_the_fields_set_by_hand():
    space = tuning.search_space("multivae", ["learning_rate=0.001", "latent_dim=8"])
    assert list(space) == ["dropout", "beta_cap", "batch_size"]
    with pytest.raises(ConfigError, match=r"^model 'pop' has nothing to tune: its config "
                                          r"declares no search space$"):
        tuning.search_space("pop")
    with pytest.raises(ConfigError, match=r"nothing left to tune: the overrides fix every "
                                          r"field of its search space \(learning_rate, l2\)$"):
        tuning.search_space("lr", ["learning_rate=0.01", "l2=0"])


def test_config_values_are_checked_against_the_field_types():
    config = apply_values(MultiVAEConfig(), {"hidden_dims": [32, 8], "learning_rate": 1,
                                             "dropout": 0.25})
    assert (config.hidden_dims, config.learning_rate, config.dropout) == ((32, 8), 1.0, 0.25)
    assert type(config.learning_rate) is float
    for values, message in [
        ({"latent_dim": 1.5}, "MultiVAEConfig.latent_dim=1.5 is invalid: expected an integer"),
        ({"latent_dim": True}, "MultiVAEConfig.latent_dim=True is invalid: expected an integer"),
        ({"dropout": "0.3"}, "MultiVAEConfig.dropout='0.3' is invalid: expected a number"),
        ({"hidden_dims": 64}, "MultiVAEConfig.hidden_dims=64 is invalid: expected a list"),
        ({"click_inputs": "sparse"},
         "MultiVAEConfig.click_inputs='sparse' is invalid: expected one of auto, bags, dense"),
        ({"dropout": 1.5}, "MultiVAEConfig.dropout=1.5 is invalid: expected a number in [0, 1)"),
    ]:
        with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
            apply_values(MultiVAEConfig(), values)


def test_config_file_errors_name_the_file(tmp_path):
    path = tmp_path / "c.json"
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: no such file$"):
        read_config_file(path)
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: expected a JSON object "
                                          "of config fields, got list$"):
        read_config_file(path)
    path.write_text("{")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: not valid JSON "):
        read_config_file(path)


# A study --------------------------------------------------------------------------


def test_study_runs_its_trials_on_validation_only(study):
    out, parts = study
    rows = _rows(out)
    assert [(r["number"], r["state"], r["run_dir"]) for r in rows] == [
        (str(n), "COMPLETE", f"trials/trial-{n:03d}") for n in range(3)]
    # Every evaluation was of the validation split: one per epoch of each trial.
    assert parts == ["val"] * (3 * EPOCHS)
    for row in rows:
        run = out / row["run_dir"]
        report = json.loads((run / "metrics.json").read_text())
        assert report["split"] == "val" and report["metrics"] == report["validation"]["metrics"]
        assert float(row["value"]) == report["validation"]["selection_score"]
        assert int(row["best_epoch"]) == report["validation"]["best_epoch"]
        saved = json.loads((run / "config.json").read_text())
        params = json.loads(row["params"])
        assert {k: saved["config"][k] for k in params} == params
        assert saved["seed"] == 0 and saved["config"]["epochs"] == EPOCHS
    # Same seed, same split: every trial trained on the same users.
    splits = [(out / r["run_dir"] / "split" / "interactions.parquet").read_bytes()
              for r in rows]
    assert splits[0] == splits[1] == splits[2]
    # The sampler drew three different points.
    assert len({r["params"] for r in rows}) == 3


def test_best_config_is_the_best_trial_over_the_defaults(study):
    out, _ = study
    rows = _rows(out)
    best = max(rows, key=lambda r: float(r["value"]))
    expected = apply_overrides(apply_values(MultiVAEConfig(), json.loads(best["params"])),
                               FIXED + [f"epochs={EPOCHS}"])
    assert json.loads((out / "best_config.json").read_text()) == to_dict(expected)


def test_train_with_the_best_config_reproduces_the_trial(study, planted_file, tmp_path,
                                                        capsys):
    out, _ = study
    best = max(_rows(out), key=lambda r: float(r["value"]))
    run = tmp_path / "run"
    assert main(["train", "multivae", "--config", str(out / "best_config.json"),
                 "--dataset", str(planted_file), "--domains", "books,movies",
                 "--out", str(run), "--quiet"]) == 0
    report = json.loads((run / "metrics.json").read_text())
    assert report["split"] == "test"
    assert report["validation"]["selection_score"] == float(best["value"])
    assert report["validation"]["best_epoch"] == int(best["best_epoch"])
    saved = json.loads((run / "config.json").read_text())["config"]
    assert saved == json.loads((out / "best_config.json").read_text())


def test_bench_takes_a_study_config_per_entry(study, planted_file, tmp_path, capsys):
    out, _ = study
    best = max(_rows(out), key=lambda r: float(r["value"]))
    argv = ["bench", "--models", "tuned=multivae,pop", "--config",
            f"tuned:{out / 'best_config.json'}", "--dataset", str(planted_file),
            "--domains", "books,movies", "--seeds", "0", "--out", str(tmp_path / "bench")]
    assert main(argv) == 0
    report = json.loads((tmp_path / "bench" / "tuned" / "seed-0" / "metrics.json").read_text())
    assert report["validation"]["selection_score"] == float(best["value"])
    summary = (tmp_path / "bench" / "summary.md").read_text()
    assert f"| tuned | tuned, {len(_rows(out))} trials | books->movies | 1 |" in summary
    assert main(argv) == 0  # the same config: read back
    assert "tuned seed 0: finished, read back" in capsys.readouterr().out
    assert main([*argv[:4], "pop:" + str(out / "best_config.json"), *argv[5:]]) == 2
    assert _error_line(capsys) == (
        f"tfxdr: error: {out / 'best_config.json'}: unknown config field 'click_inputs' for "
        "PopConfig; valid fields: epochs, batch_size, learning_rate, eval_every, patience, "
        "top_k (--set click_inputs=VALUE)")


def test_a_resumed_study_runs_only_the_rest_and_draws_the_same_trials(study, planted_file,
                                                                      tmp_path, capsys):
    out = tmp_path / "study"
    assert _tune(planted_file, out, 2) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in printed[:2]] == ["trial 0 (1 of 2)",
                                                            "trial 1 (2 of 2)"]
    assert _tune(planted_file, out, 3) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("trial 2 (3 of 3): validation ")
    assert printed[1].startswith("best: trial ")
    assert printed[2] == (f"train it: tfxdr train multivae --config {out}/best_config.json "
                          f"--dataset {planted_file} --domains books,movies --seed 0 "
                          "--out RUN_DIR")
    assert len(_study(out).trials) == 3
    # Stopped after two trials or not, the study is the same.
    uninterrupted = _rows(study[0])
    assert [(r["params"], r["value"]) for r in _rows(out)] == [
        (r["params"], r["value"]) for r in uninterrupted]
    assert _tune(planted_file, out, 3) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "the study has 3 finished trials already: nothing to run")
    assert len(_study(out).trials) == 3


class _StopBeforeSecondEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_a_trial_left_running_runs_again_and_resumes_its_run(study, planted_file, tmp_path,
                                                              capsys):
    from tfxdr.experiment import DataConfig, train

    out = tmp_path / "study"
    shutil.copytree(study[0], out)
    trial_1 = _rows(out)[1]
    params = json.loads(trial_1["params"])
    # A process asked for trial 3 with trial 1's parameters and was killed in its
    # second epoch: the study holds it as running, its run is unfinished.
    stale = _study(out)
    stale.enqueue_trial(params)
    trial = stale.ask()
    for name, space in tuning.search_space("multivae", FIXED).items():
        tuning.suggest(trial, name, space)
    trial.set_user_attr("run_dir", "trials/trial-003")
    with pytest.raises(KeyboardInterrupt):
        train("multivae", DataConfig(str(planted_file), ("books", "movies")),
              out / "trials" / "trial-003", overrides=FIXED, epochs=EPOCHS, verbose=0,
              config_values=params, score_test=False, callbacks=[_StopBeforeSecondEpoch()])
    assert (out / "trials" / ".trial-003.partial" / "checkpoints" / "resume.npz").is_file()

    assert _tune(planted_file, out, 4) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == ("trial 3 was interrupted: it runs again with its parameters, "
                          "resuming its run directory")
    assert printed[1].startswith("trial 4 (4 of 4): validation ")
    rows = _rows(out)
    assert [(r["number"], r["state"], r["run_dir"], r["note"]) for r in rows[3:]] == [
        ("3", "FAIL", "trials/trial-003", "interrupted; run again as trial 4"),
        ("4", "COMPLETE", "trials/trial-003", "")]
    assert json.loads(rows[4]["params"]) == params
    # Resumed after its first epoch, it ends exactly as trial 1 did uninterrupted.
    assert rows[4]["value"] == trial_1["value"]
    history = (out / "trials" / "trial-003" / "history.csv").read_text().splitlines()
    assert len(history) == 1 + EPOCHS
    rerun = _study(out).trials[4]
    assert rerun.user_attrs["replaces"] == 3
    assert sorted(rerun.intermediate_values) == [1, 2, 3]


class _PruneAtEpoch(optuna.pruners.BasePruner):
    def __init__(self, epoch):
        self.epoch = epoch

    def prune(self, study, trial):
        return trial.last_step >= self.epoch


def test_a_pruned_trial_stops_training_at_once(planted_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(optuna.pruners, "MedianPruner", lambda *args: _PruneAtEpoch(2))
    out = tmp_path / "study"
    assert _tune(planted_file, out, 1) == 0
    printed = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"trial 0 \(1 of 1\): pruned at epoch 2, validation \d\.\d{4}; "
                        r"none complete yet; learning_rate=.*", printed[0]), printed[0]
    assert printed[1] == f"no trial of 1 completed; wrote {out}/trials.csv"
    (row,) = _rows(out)
    assert row["state"] == "PRUNED"
    run = out / "trials" / "trial-000"
    report = json.loads((run / "metrics.json").read_text())
    assert report["epochs_run"] == 2 and report["split"] == "val"
    history = list(csv.DictReader(open(run / "history.csv")))
    assert [int(r["epoch"]) for r in history] == [1, 2]
    assert float(row["value"]) == float(history[-1]["val_selection"])
    assert not (out / "best_config.json").exists()


def test_a_diverged_trial_fails_and_counts(planted_file, tmp_path, capsys):
    out = tmp_path / "study"
    assert _tune(planted_file, out, 1, "--set", "learning_rate=1e30") == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("trial 0 (1 of 1): failed: training diverged: loss term ")
    (row,) = _rows(out)
    assert (row["state"], row["value"], row["best_epoch"]) == ("FAIL", "", "")
    assert row["note"].startswith("training diverged: ")
    assert "learning_rate" not in json.loads(row["params"])  # fixed by --set
    assert _tune(planted_file, out, 1, "--set", "learning_rate=1e30") == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "the study has 1 finished trials already: nothing to run")


# Bad input ------------------------------------------------------------------------


def test_trials_below_one_is_refused_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["tune", "multivae", "--dataset", "d.csv", "--domains", "a,b", "--trials", "0",
              "--out", str(tmp_path / "s")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "tfxdr tune: error: argument --trials: expected an integer >= 1, got '0'")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("model, extra, message", [
    ("nosuch", [], "tfxdr: error: MODEL: unknown model 'nosuch'; registered models: "
                   + ", ".join(MODELS.names())),
    ("pop", [], "tfxdr: error: model 'pop' has nothing to tune: its config declares no "
                "search space"),
    ("multivae", ["--set", "dropuot=0.1"],
     "tfxdr: error: unknown config field 'dropuot' for MultiVAEConfig; valid fields: "
     + ", ".join(field_names(MultiVAEConfig)) + " (--set dropuot=VALUE)"),
])
def test_bad_tune_input_is_one_line_before_tensorflow(tmp_path, model, extra, message):
    # The dataset does not exist: had it been read, that would be the error.
    argv = ["tune", model, "--dataset", "nowhere.csv", "--domains", "books,movies",
            "--trials", "2", "--out", str(tmp_path / "s"), *extra]
    script = ("import sys\nfrom tfxdr.cli import main\n"
              f"code = main({argv!r})\nprint(code, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.split() == ["2", "False"]
    assert result.stderr.splitlines() == [message]
    assert not (tmp_path / "s").exists()


def test_a_study_of_other_settings_is_not_resumed(study, planted_file, tmp_path, capsys):
    out = tmp_path / "study"
    shutil.copytree(study[0], out)
    sets = ["--set", "hidden_dims=64", "--set", "latent_dim=8"]
    assert main(["tune", "multivae", "--dataset", str(planted_file), "--domains",
                 "books,movies", "--trials", "4", "--epochs", str(EPOCHS), "--out", str(out),
                 *sets]) == 2
    assert _error_line(capsys) == (
        f"tfxdr: error: {out}: holds a study of other settings (config.latent_dim (saved 16, "
        "asked 8) differs); choose another directory")
    assert len(_study(out).trials) == 3
    # dropout fixed, even at its default: no longer searched, another study.
    assert _tune(planted_file, out, 4, "--set", "dropout=0.5") == 2
    assert _error_line(capsys) == (
        f"tfxdr: error: {out}: holds a study of other settings (config.dropout (saved 0.0, "
        "asked 0.5) differs); choose another directory")
    assert len(_study(out).trials) == 3
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert _tune(planted_file, tmp_path / "other", 1) == 2
    assert _error_line(capsys) == (f"tfxdr: error: {tmp_path / 'other'}: exists and holds no "
                                   "tfxdr study (study.db); refusing to use it")


@pytest.mark.parametrize("content, message", [
    ({"latent_dim": 16, "dropuot": 0.1},
     "unknown config field 'dropuot' for MultiVAEConfig; valid fields: "
     + ", ".join(field_names(MultiVAEConfig))),
    ({"dropout": 1.5}, "MultiVAEConfig.dropout=1.5 is invalid: expected a number in [0, 1)"),
    ({"hidden_dims": "64"}, "MultiVAEConfig.hidden_dims='64' is invalid: expected a list"),
])
def test_a_bad_config_file_names_the_file_and_the_field(tmp_path, capsys, content, message):
    path = tmp_path / "best_config.json"
    path.write_text(json.dumps(content))
    assert main(["train", "multivae", "--config", str(path), "--dataset", "nowhere.csv",
                 "--domains", "books,movies", "--out", str(tmp_path / "run")]) == 2
    assert _error_line(capsys) == f"tfxdr: error: {path}: {message}"
    assert not (tmp_path / "run").exists()


def test_settings_note_says_how_each_rows_settings_were_chosen(tmp_path):
    from tfxdr.registry import resolve_config
    from tfxdr.tuning import settings_note

    def note(model, *overrides, config_file=None):
        return settings_note(resolve_config(model, overrides)[1], config_file, overrides)

    assert note("d2dtm") == "defaults"
    assert note("d2dtm_paper", "discriminator_input=conditional") == (
        "defaults; discriminator_input=conditional")
    assert note("pop") == "nothing to tune"
    assert note("ridge") == "grid of 8 l2 on validation"
    assert note("ridge", "l2=100") == "defaults; l2=100"  # one value: nothing chosen
    assert note("itemknn") == "grid of 3 shrink on validation"
    hand = tmp_path / "mine.json"
    hand.write_text("{}")
    assert note("d2dtm", config_file=hand) == f"config {hand}"
    study_dir = tmp_path / "study"
    study_dir.mkdir()
    (study_dir / "trials.csv").write_text(
        "number,state,value,best_epoch,params,run_dir,note\n"
        "0,FAIL,,,{},trials/trial-000,interrupted; run again as trial 2\n"
        "1,COMPLETE,0.5,3,{},trials/trial-001,\n"
        "2,PRUNED,,,{},trials/trial-000,\n")
    assert note("d2dtm", config_file=study_dir / "best_config.json") == "tuned, 2 trials"


def test_a_study_directory_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    out = tmp_path / "f" / "study"
    assert main(["tune", "multivae", "--dataset", "nowhere.csv", "--domains", "books,movies",
                 "--trials", "2", "--out", str(out)]) == 2
    assert _error_line(capsys) == (f"tfxdr: error: {out}: {tmp_path / 'f'} is a file, not a "
                                   "directory")


def test_a_closed_form_study_may_run_fewer_epochs_than_the_default_grid():
    # Each trial solves one drawn l2, so 3 epochs are enough; a train run of the
    # default grid of 8 values is not.
    assert list(tuning.search_space("ridge", (), 3)) == ["l2"]
    with pytest.raises(ConfigError, match=r"RidgeConfig.epochs=3 is invalid: expected >= 8"):
        tuning.resolve_config("ridge", (), 3)
