"""The command line end to end on a user's own interactions CSV."""

import json
import re

import pandas as pd
import pytest

from tfxdr.cli import main
from tfxdr.rundir import staged_run_dir

FAST = ["--set", "batch_size=64", "--set", "hidden_dims=64", "--set", "latent_dim=16"]


def _train(csv, out, *extra):
    return main(["train", "multivae", "--dataset", str(csv), "--domains", "books,movies",
                 "--out", str(out), "--epochs", "8", "--quiet", *FAST, *extra])


def _error_line(capsys):
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tfxdr:")]
    assert len(lines) == 1, lines
    return lines[0]


def test_models_lists_registered_models(capsys):
    assert main(["models"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert {"pop", "multivae"} <= set(names)


def test_train_writes_complete_run_and_evaluate_reproduces_it(planted_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(planted_csv, out) == 0
    printed = capsys.readouterr().out
    assert "books->movies" in printed and "recall@50" in printed
    for name in ("config.json", "metrics.json", "history.csv", "steps.csv", "vocabularies.json",
                 "split/interactions.parquet", "split/spec.json",
                 "checkpoints/best.weights.h5"):
        assert (out / name).is_file(), name
    report = json.loads((out / "metrics.json").read_text())
    assert report["model"] == "multivae" and report["split"] == "test"
    assert report["domains"] == ["books", "movies"] and report["seed"] == 0
    assert set(report["metrics"]) == {"books->movies", "movies->books"}
    for values in report["metrics"].values():
        for k in (10, 20, 50):
            assert 0.0 <= values[f"recall@{k}"] <= 1.0
            assert 0.0 <= values[f"ndcg@{k}"] <= 1.0
    assert report["train_seconds"] > 0 and report["examples_per_second"] > 0
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["latent_dim"] == 16 and config["config"]["epochs"] == 8
    assert config["data"]["dataset"] == str(planted_csv)
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == list(range(1, 9))
    assert "val/books->movies/recall@50" in history.columns

    assert main(["evaluate", str(out)]) == 0
    assert "books->movies" in capsys.readouterr().out
    from tfxdr.experiment import evaluate

    rescored = evaluate(out)["metrics"]
    for key, values in report["metrics"].items():
        for name, value in values.items():
            assert rescored[key][name] == pytest.approx(value, abs=1e-6)


def test_same_seed_same_result_different_seed_different_split(planted_csv, tmp_path):
    assert _train(planted_csv, tmp_path / "a", "--seed", "3") == 0
    assert _train(planted_csv, tmp_path / "b", "--seed", "3") == 0
    assert _train(planted_csv, tmp_path / "c", "--seed", "4") == 0
    a, b, c = (json.loads((tmp_path / r / "metrics.json").read_text()) for r in "abc")
    assert a["metrics"] == b["metrics"]
    split_a = pd.read_parquet(tmp_path / "a" / "split" / "interactions.parquet")
    split_c = pd.read_parquet(tmp_path / "c" / "split" / "interactions.parquet")
    assert not split_a["split"].equals(split_c["split"])


def test_held_out_users_never_reach_training(planted_csv, tmp_path):
    assert _train(planted_csv, tmp_path / "run") == 0
    split = pd.read_parquet(tmp_path / "run" / "split" / "interactions.parquet")
    parts = split.groupby("user_id")["split"].nunique()
    assert (parts == 1).all()  # a user is wholly in one part
    train_users = set(split.loc[split["split"] == "train", "user_id"])
    test_users = set(split.loc[split["split"] == "test", "user_id"])
    assert train_users and test_users and not train_users & test_users
    counts = split.drop_duplicates("user_id")["split"].value_counts()
    assert counts["train"] == 420 and counts["val"] == 30 and counts["test"] == 150


@pytest.mark.parametrize("args, message", [
    (["--set", "latnt_dim=3"], "unknown config field 'latnt_dim' for MultiVAEConfig; valid fields: "),
    (["--set", "dropout=high"], "MultiVAEConfig.dropout='high' is invalid: expected a number"),
])
def test_bad_set_exits_2_with_one_line_and_no_run_dir(planted_csv, tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert _train(planted_csv, out, *args) == 2
    assert _error_line(capsys).startswith(f"tfxdr: error: {message}")
    assert not out.exists()


def test_unknown_domain_exits_2_naming_file_and_available(planted_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "pop", "--dataset", str(planted_csv), "--domains", "books,music",
                 "--out", str(out), "--quiet"])
    assert code == 2
    assert _error_line(capsys) == (
        f"tfxdr: error: {planted_csv}: domain 'music' not found in column 'domain'; "
        "available: books, movies")
    assert not out.exists()


def test_existing_run_is_kept_unless_overwrite(planted_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(planted_csv, out) == 0
    before = (out / "metrics.json").read_text()
    assert _train(planted_csv, out) == 2
    assert _error_line(capsys) == (
        f"tfxdr: error: {out}: already exists; choose another --out or pass --overwrite")
    assert (out / "metrics.json").read_text() == before


def test_failed_run_leaves_earlier_run_intact_and_no_partial_dir(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("earlier")
    with pytest.raises(RuntimeError):
        with staged_run_dir(out, overwrite=True) as scratch:
            (scratch / "metrics.json").write_text("half")
            raise RuntimeError("training failed")
    assert (out / "metrics.json").read_text() == "earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    with staged_run_dir(out, overwrite=True) as scratch:
        (scratch / "metrics.json").write_text("new")
    assert (out / "metrics.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_evaluate_incomplete_run_dir(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    assert main(["evaluate", str(tmp_path)]) == 2
    assert re.fullmatch(
        re.escape(f"tfxdr: error: {tmp_path / 'metrics.json'}: missing; is {tmp_path} "
                  "a finished run directory?"), _error_line(capsys))
