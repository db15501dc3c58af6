"""The command line end to end on a user's own interactions CSV."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfxdr.cli import main
from tfxdr.config import field_names
from tfxdr.models import MODELS, MultiVAEConfig
from tfxdr.io import atomic_directory

FAST = ["--set", "batch_size=64", "--set", "hidden_dims=64", "--set", "latent_dim=16"]


def _train(csv, out, *extra, domains="books,movies", model="multivae"):
    return main(["train", model, "--dataset", str(csv), "--domains", domains,
                 "--out", str(out), "--epochs", "8", "--quiet", *FAST, *extra])


def _error_line(capsys):
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tfxdr:")]
    assert len(lines) == 1, lines
    return lines[0]


def _bags(frame, users, domain):
    """Each user's distinct clicked ids in ``domain``, as a "" padded string tensor."""
    part = frame[frame["domain"] == domain]
    bags = [sorted(set(part.loc[part["user_id"] == u, "item_id"].astype(str))) for u in users]
    width = max(len(b) for b in bags)
    return [b + [""] * (width - len(b)) for b in bags], bags


def _recompute(run_dir, source, target, ks=(10, 20, 50)):
    """Test metrics of a click run recomputed from its files alone, by brute force.

    The target's catalogue is the items training users clicked there; each test
    user's relevant items are all their target clicks, catalogued or not.
    """
    split = pd.read_parquet(run_dir / "split" / "interactions.parquet")
    train = split[split["split"] == "train"]
    catalogue = sorted(set(train.loc[train["domain"] == target, "item_id"].astype(str)))
    users = sorted(set(split.loc[split["split"] == "test", "user_id"]))
    request, _ = _bags(split, users, source)
    _, relevant = _bags(split, users, target)
    model = keras.saving.load_model(run_dir / "model.keras")
    domains = list(model.spec.domains)
    scores = np.asarray(model.translate({f"items_{source}": tf.constant(request)},
                                        domains.index(source), domains.index(target)))
    assert scores.shape == (len(users), len(catalogue))
    out = {f"{name}@{k}": [] for name in ("recall", "ndcg") for k in ks}
    for row, clicked in zip(scores, relevant):
        ranked = [catalogue[i] for i in np.argsort(-row, kind="stable")]
        for k in ks:
            gains = [1.0 if item in clicked else 0.0 for item in ranked[:k]]
            dcg = sum(g / np.log2(rank + 2) for rank, g in enumerate(gains))
            ideal = sum(1.0 / np.log2(rank + 2) for rank in range(min(len(clicked), k)))
            out[f"recall@{k}"].append(sum(gains) / len(clicked))
            out[f"ndcg@{k}"].append(dcg / ideal)
    return {name: float(np.mean(values)) for name, values in out.items()}


def _describe_rows(capsys, *argv):
    """``tfxdr data describe``'s first line and its (scope, domain) -> counts rows."""
    assert main(["data", "describe", *argv]) == 0
    first, _, *rows = capsys.readouterr().out.splitlines()
    counts = {}
    for row in rows[:4]:
        scope, domain, users, items, interactions = row.replace("all users", "all").split()[:5]
        counts[scope, domain] = (int(users), int(items), int(interactions))
    return first, counts


def test_data_describe_counts_and_applies_the_overlap_ratio(small_overlap_csv, capsys):
    data = ["--dataset", str(small_overlap_csv), "--domains", "books,music"]

    first, counts = _describe_rows(capsys, *data)
    assert first.endswith(": 5 users, 4 with interactions in every domain")
    assert counts == {("all", "books"): (5, 2, 10), ("all", "music"): (4, 2, 8),
                      ("overlap", "books"): (4, 2, 8), ("overlap", "music"): (4, 2, 8)}

    # Half of the 4 common users stay common; of the other two, one keeps books only
    # and one music only; u4 is untouched.
    first, counts = _describe_rows(capsys, *data, "--overlap-ratio", "0.5", "--seed", "3")
    assert first.endswith(": 5 users, 2 with interactions in every domain")
    assert counts == {("all", "books"): (4, 2, 8), ("all", "music"): (3, 2, 6),
                      ("overlap", "books"): (2, 2, 4), ("overlap", "music"): (2, 2, 4)}


def test_models_lists_registered_models(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == MODELS.names()
    tasks = {line.split()[0]: line.split()[1] for line in lines}
    assert (tasks["pop"], tasks["multivae"], tasks["d2dtm"], tasks["dadin"]) == (
        "clicks", "clicks", "clicks", "ctr")


def test_train_writes_complete_run_and_evaluate_reproduces_it(planted_csv, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(planted_csv, out) == 0
    printed = capsys.readouterr().out
    assert "books->movies" in printed and "recall@50" in printed
    for name in ("config.json", "features.json", "metrics.json", "history.csv", "steps.csv",
                 "model.keras", "split/interactions.parquet", "split/spec.json",
                 "checkpoints/best.weights.h5", "checkpoints/last.weights.h5"):
        assert (out / name).is_file(), name
    assert not (out / "vocabularies.json").exists()
    report = json.loads((out / "metrics.json").read_text())
    assert report["model"] == "multivae" and report["split"] == "test"
    assert report["domains"] == ["books", "movies"] and report["seed"] == 0
    assert set(report["metrics"]) == {"books->movies", "movies->books"}
    # The test metrics are the saved model's ranking of the saved split, recomputed here
    # without the library's evaluation code.
    for source, target in (("books", "movies"), ("movies", "books")):
        recomputed = _recompute(out, source, target)
        for name, value in recomputed.items():
            assert report["metrics"][f"{source}->{target}"][name] == pytest.approx(
                value, abs=1e-6), name
    # Eight epochs already transfer the planted groups: popularity gets recall@10 0.24 /
    # 0.17 on this split, this run measured 0.79 / 0.53 (seed 0).
    assert report["metrics"]["books->movies"]["recall@10"] > 0.5
    assert report["metrics"]["movies->books"]["recall@10"] > 0.35

    # Timing: examples/s counts 8 epochs of 420 training users over the training time.
    assert report["epochs_run"] == 8
    assert report["examples_per_second"] == pytest.approx(8 * 420 / report["train_seconds"],
                                                          rel=2e-3)
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["latent_dim"] == 16 and config["config"]["epochs"] == 8
    assert config["data"]["dataset"] == str(planted_csv)

    # The history has every epoch; the selected epoch is the first with the highest
    # validation score (recall@50 summed over the pairs), whose metrics the report keeps.
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == list(range(1, 9))
    keys = ["val/books->movies/recall@50", "val/movies->books/recall@50"]
    score = history[keys].sum(axis=1)
    best = int(history["epoch"][score.idxmax()])
    validation = report["validation"]
    assert validation["best_epoch"] == best
    assert validation["selection_score"] == pytest.approx(score.max(), abs=1e-9)
    for key in ("books->movies", "movies->books"):
        assert validation["metrics"][key]["recall@50"] == pytest.approx(
            history.loc[history["epoch"] == best, f"val/{key}/recall@50"].item(), abs=1e-9)
    # One row per training step: 8 epochs of ceil(420 / 64) = 7 batches.
    steps = pd.read_csv(out / "steps.csv")
    assert list(steps["step"]) == list(range(1, 57))
    assert list(steps["epoch"]) == [e for e in range(1, 9) for _ in range(7)]

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
    # The feature spec knows exactly the items training users clicked.
    features = json.loads((tmp_path / "run" / "features.json").read_text())
    train = split[split["split"] == "train"]
    for feature in features["features"]:
        domain = feature["domain"]
        assert feature["vocabulary"] == sorted(set(train.loc[train["domain"] == domain,
                                                             "item_id"]))


@pytest.mark.parametrize("args, message", [
    (["--set", "latnt_dim=3"],
     "unknown config field 'latnt_dim' for MultiVAEConfig; valid fields: "
     + ", ".join(field_names(MultiVAEConfig)) + " (--set latnt_dim=VALUE)"),
    (["--set", "dropout=high"],
     "MultiVAEConfig.dropout='high' is invalid: expected a number (--set dropout=VALUE)"),
    (["--set", "dropout"], "override 'dropout' is malformed: expected key=value"),
])
def test_bad_set_exits_2_with_one_line_and_no_run_dir(planted_csv, tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert _train(planted_csv, out, *args) == 2
    assert _error_line(capsys) == f"tfxdr: error: {message}"
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
        with atomic_directory(out, replace=True) as scratch:
            (scratch / "metrics.json").write_text("half")
            raise RuntimeError("training failed")
    assert (out / "metrics.json").read_text() == "earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    with atomic_directory(out, replace=True) as scratch:
        (scratch / "metrics.json").write_text("new")
    assert (out / "metrics.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_evaluate_incomplete_run_dir(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    assert main(["evaluate", str(tmp_path)]) == 2
    assert _error_line(capsys) == (f"tfxdr: error: {tmp_path / 'config.json'}: not a tfxdr run "
                                   "configuration (no model and config)")


def test_three_domains_report_every_ordered_pair(planted3_frame, tmp_path, capsys):
    csv = tmp_path / "three.csv"
    planted3_frame.to_csv(csv, index=False)
    out = tmp_path / "run"
    assert _train(csv, out, domains="books,movies,games") == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "metrics.json").read_text())
    pairs = [f"{s}->{t}" for s in ("books", "movies", "games")
             for t in ("books", "movies", "games") if s != t]
    assert report["domains"] == ["books", "movies", "games"]
    assert sorted(report["metrics"]) == sorted(pairs)
    assert sorted(report["validation"]["metrics"]) == sorted(pairs)
    table_rows = [line.split()[0] for line in printed.splitlines() if "->" in line]
    assert sorted(table_rows) == sorted(pairs)
    # Every pair is the saved model's translation of the saved split.
    for pair in ("books->games", "games->movies"):
        source, target = pair.split("->")
        assert report["metrics"][pair]["recall@10"] == pytest.approx(
            _recompute(out, source, target)["recall@10"], abs=1e-6)


def test_a_two_domain_model_refuses_three_domains(planted3_frame, tmp_path, capsys):
    csv = tmp_path / "three.csv"
    planted3_frame.to_csv(csv, index=False)
    out = tmp_path / "run"
    assert main(["train", "d2dtm", "--dataset", str(csv), "--domains", "books,movies,games",
                 "--out", str(out), "--quiet"]) == 2
    assert _error_line(capsys) == ("tfxdr: error: --domains: model 'd2dtm' takes exactly 2 "
                                   "domains; got 3 (books, movies, games)")
    assert not out.exists()


@pytest.mark.parametrize("domains, message", [
    ("books", "--domains 'books': expected at least two comma-separated domain names"),
    ("books,books", "--domains 'books,books': a domain is listed twice"),
])
def test_bad_domains_name_the_flag(planted_csv, tmp_path, capsys, domains, message):
    out = tmp_path / "run"
    assert main(["train", "pop", "--dataset", str(planted_csv), "--domains", domains,
                 "--out", str(out), "--quiet"]) == 2
    assert _error_line(capsys) == f"tfxdr: error: {message}"
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["train", "pop", "--dataset", "d.csv", "--domains", "a,b", "--out", "r", "--seed", "-1"],
     "tfxdr train: error: argument --seed: expected an integer >= 0, got '-1'"),
    (["export", "run", "--version", "-3"],
     "tfxdr export: error: argument --version: expected an integer >= 1, got '-3'"),
    (["export", "run", "--version", "0"],
     "tfxdr export: error: argument --version: expected an integer >= 1, got '0'"),
])
def test_seeds_and_versions_are_checked_before_any_work(argv, message, capsys, tmp_path,
                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be created, wherever the command runs
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == message
    assert list(tmp_path.iterdir()) == []


def test_bench_refuses_a_negative_seed(planted_csv, tmp_path, capsys):
    code = main(["bench", "--models", "pop", "--dataset", str(planted_csv), "--domains",
                 "books,movies", "--seeds", "0,-1", "--out", str(tmp_path / "bench")])
    assert code == 2
    assert _error_line(capsys) == ("tfxdr: error: --seeds '0,-1': expected comma-separated "
                                   "integers >= 0")
    assert not (tmp_path / "bench").exists()


@pytest.mark.parametrize("argv, message", [
    (["--set", "latent=8"], "tfxdr: error: unknown config field 'latent' for MultiVAEConfig; "
                            "valid fields: {fields} (--set latent=VALUE)"),
    (["--domains", "books"], "tfxdr: error: --domains 'books': expected at least two "
                             "comma-separated domain names"),
    (["--split-fractions", "1,0,0"], "tfxdr: error: --split-fractions '1,0,0' is invalid: "
                                     "expected three positive numbers (train, val, test) "
                                     "summing to 1; selection needs a validation split"),
    (["--overlap-ratio", "1.5"], "tfxdr: error: overlap_ratio 1.5 is invalid: expected a "
                                 "share in [0, 1]"),
    (["--overlap-ratio", "0.5", "--domains", "books,movies,games"],
     "tfxdr: error: overlap_ratio needs exactly two domains; got 3 (books, movies, games)"),
])
def test_setting_errors_come_before_tensorflow_and_the_data(tmp_path, argv, message):
    # The dataset does not exist: had it been read, that would be the error.
    script = ("import sys\nfrom tfxdr.cli import main\n"
              f"code = main(['train', 'multivae', '--dataset', 'nowhere.csv', '--domains', "
              f"'books,movies', '--out', {str(tmp_path / 'run')!r}, *{argv!r}])\n"
              "print(code, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.split() == ["2", "False"]
    fields = ", ".join(field_names(MultiVAEConfig))
    assert result.stderr.splitlines() == [message.format(fields=fields)]


def test_out_errors_come_before_tensorflow(tmp_path):
    (tmp_path / "taken").write_text("a file")
    script = ("import sys\nfrom tfxdr.cli import main\n"
              "code = main(['train', 'multivae', '--dataset', 'nowhere.csv', '--domains', "
              f"'books,movies', '--out', {str(tmp_path / 'taken')!r}])\n"
              "print(code, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.split() == ["2", "False"]
    assert result.stderr.splitlines() == [
        f"tfxdr: error: {tmp_path / 'taken'}: is a file, not a run directory"]


def test_no_tensorflow_start_up_lines_in_the_output(planted_csv, tmp_path):
    out = tmp_path / "run"
    assert _train(planted_csv, out, "--epochs", "1") == 0
    env = {**os.environ}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as on a user's machine
    result = subprocess.run([sys.executable, "-m", "tfxdr.cli", "evaluate", str(out)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("multivae on ")
