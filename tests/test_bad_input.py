"""The bad-input catalogue: every case is one exact line on stderr, exit status 2, no
traceback, and no run directory that looks complete.

Each case builds its input under a fresh directory and returns the command, the
expected line, and the run directory the command names (which must not have
become a finished run)."""

import shutil
from pathlib import Path

import pytest
from run_copies import stopped_copy

from tfxdr.cli import main
from tfxdr.config import field_names
from tfxdr.models import MODELS, MultiVAEConfig

EXPECTED_COLUMNS = "user_id,item_id,domain[,timestamp][,rating][,label]"


@pytest.fixture(scope="module")
def finished(tmp_path_factory, planted_frame):
    """A finished multivae run and its data."""
    root = tmp_path_factory.mktemp("catalogue")
    csv = root / "planted.csv"
    planted_frame.to_csv(csv, index=False)
    run = root / "run"
    assert main(["train", "multivae", "--dataset", str(csv), "--domains", "books,movies",
                 "--out", str(run), "--epochs", "2", "--quiet", "--set", "batch_size=64",
                 "--set", "hidden_dims=32", "--set", "latent_dim=8"]) == 0
    return csv, run


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def _train(dataset, out, *extra, model="multivae", domains="books,movies"):
    return ["train", model, "--dataset", str(dataset), "--domains", domains, "--out", str(out),
            "--epochs", "1", "--quiet", *extra]


def _csv_case(text, expected, *extra, name="data.csv", domains="books,movies"):
    """A case on a one-file dataset; ``expected`` is formatted with the file's path."""
    def build(root, finished):
        path = _write(root / name, text)
        return _train(path, root / "out", *extra, domains=domains), expected.format(path=path)
    return build


ROWS = "user_id,item_id,domain,rating\nu1,b1,books,4\nu1,m1,movies,5\nu2,b2,books,3\n"


def _features_case(table, text, expected):
    def build(root, finished):
        data = _write(root / "data.csv", ROWS)
        path = _write(root / f"{table}.csv", text)
        flag = "--item-features" if table == "items" else "--user-features"
        return (_train(data, root / "out", flag, str(path)),
                expected.format(path=path, data=data))
    return build


def _argv_case(argv_tail, expected, model="multivae", domains="books,movies"):
    """A command-line case on the finished run's (valid) data."""
    def build(root, finished):
        csv, _ = finished
        return _train(csv, root / "out", *argv_tail, model=model, domains=domains), expected
    return build


def _out_case(prepare, expected, *extra):
    def build(root, finished):
        csv, run = finished
        out = prepare(root, run)
        return _train(csv, out, *extra), expected.format(out=out, root=root)
    return build


def _file_at(root, run):
    return _write(root / "taken", "a file")


def _under_file(root, run):
    _write(root / "taken", "a file")
    return root / "taken" / "run"


def _finished_copy(root, run):
    return shutil.copytree(run, root / "run")


def _foreign_dir(root, run):
    _write(root / "notes" / "todo.txt", "mine")
    return root / "notes"


def _run_case(damage, command, expected):
    """A case on a damaged copy of the finished run (``damage`` gets the copy)."""
    def build(root, finished):
        _, run = finished
        copy = shutil.copytree(run, root / "run")
        damage(copy)
        return [command, str(copy)], expected.format(run=copy)
    return build


def _truncate(name):
    def damage(run):
        path = run / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return damage


def _unfinished(damage=None):
    """The finished run copied as a stopped one (``.run.partial``), then ``damage``d."""
    def build(root, finished):
        staged = stopped_copy(finished[1], root / ".run.partial")
        if damage:
            damage(staged)
        return staged
    return build


def _resume_case(damage, expected):
    def build(root, finished):
        csv, run = finished
        staged = _unfinished(damage)(root, finished)
        argv = ["train", "multivae", "--dataset", str(csv), "--domains", "books,movies",
                "--out", str(root / "run"), "--epochs", "2", "--quiet", "--set",
                "batch_size=64", "--set", "hidden_dims=32", "--set", "latent_dim=8"]
        return argv, expected.format(staged=staged, root=root)
    return build


def _export_unfinished(root, finished):
    staged = _unfinished()(root, finished)
    return ["export", str(staged)], (f"tfxdr: error: {staged}: an unfinished run (status "
                                     "interrupted); finish it by running its train command "
                                     "again")


def _truncated_best(root, finished):
    staged = _unfinished(_truncate("checkpoints/best.weights.h5"))(root, finished)
    best = staged / "checkpoints" / "best.weights.h5"
    size = (finished[1] / "checkpoints" / "best.weights.h5").stat().st_size
    return ["evaluate", str(staged)], (
        f"tfxdr: error: {best}: cannot be read (Unable to synchronously open file (truncated "
        f"file: eof = {size // 2}, sblock->base_addr = 0, stored_eof = {size}))")


def _export_twice(root, finished):
    _, run = finished
    copy = shutil.copytree(run, root / "run")
    assert main(["export", str(copy), "--version", "3"]) == 0
    return (["export", str(copy), "--version", "3"],
            f"tfxdr: error: --version: {copy / 'export' / '3'}: version 3 is already exported")


def _few_users(root, finished):
    rows = ["user_id,item_id,domain"] + [f"u{u},{p}{i},{d}" for u in range(4) for i in range(3)
                                         for p, d in (("b", "books"), ("m", "movies"))]
    path = _write(root / "few.csv", "\n".join(rows) + "\n")
    return _train(path, root / "out"), ("tfxdr: error: 4 users are too few to split "
                                        "0.7,0.05,0.25: the val split gets none (the task keeps "
                                        "users with interactions in every domain)")


def _unknown_model(root, finished):
    csv, _ = finished
    return (_train(csv, root / "out", model="vae2"),
            f"tfxdr: error: MODEL: unknown model 'vae2'; registered models: "
            f"{', '.join(MODELS.names())}")


def _unknown_field(root, finished):
    csv, _ = finished
    return (_train(csv, root / "out", "--set", "latent=8"),
            "tfxdr: error: unknown config field 'latent' for MultiVAEConfig; valid fields: "
            f"{', '.join(field_names(MultiVAEConfig))} (--set latent=VALUE)")


def _bench(root, finished, *extra, models="multivae"):
    csv, run = finished
    shutil.copytree(run, root / "bench" / "multivae" / "seed-0")
    return ["bench", "--models", models, "--dataset", str(csv), "--domains", "books,movies",
            "--out", str(root / "bench"), "--epochs", "2", "--set", "multivae:batch_size=64",
            "--set", "multivae:hidden_dims=32", "--set", "multivae:latent_dim=8", *extra]


def _bench_metric(root, finished):
    return _bench(root, finished, "--seeds", "0", "--metric", "recall@7"), (
        "tfxdr: error: --metric 'recall@7': the runs have no such metric; available: "
        + ", ".join(sorted(f"{name}@{k}" for name in ("hr", "ndcg", "recall", "recall_capped")
                           for k in (10, 20, 30, 40, 50))))


CASES = {
    # Data files
    "missing column": _csv_case(
        "user_id,item_id,rating\nu1,b1,4\n",
        f"tfxdr: error: {{path}}: missing column 'domain'; expected columns {EXPECTED_COLUMNS}"),
    "misspelt column": _csv_case(
        "user_id,item_id,domain,ratng\nu1,b1,books,4\n",
        f"tfxdr: error: {{path}}: unexpected column 'ratng'; expected columns "
        f"{EXPECTED_COLUMNS}"),
    "empty file": _csv_case("", "tfxdr: error: {path}: the file is empty"),
    "header only": _csv_case("user_id,item_id,domain\n",
                             "tfxdr: error: {path}: no interactions (the table has no rows)"),
    "empty user id": _csv_case(
        "user_id,item_id,domain\nu1,b1,books\n,m1,movies\n",
        "tfxdr: error: {path}: column 'user_id' line 3: empty value, expected an id"),
    "rating not a number": _csv_case(
        "user_id,item_id,domain,rating\nu1,b1,books,abc\n",
        "tfxdr: error: {path}: column 'rating' line 2: 'abc' is not a number"),
    "negative rating": _csv_case(
        "user_id,item_id,domain,rating\nu1,b1,books,4\nu1,m1,movies,-1\n",
        "tfxdr: error: {path}: column 'rating' line 3: -1 is negative, expected a rating >= 0"),
    "fractional timestamp": _csv_case(
        "user_id,item_id,domain,timestamp\nu1,b1,books,1.5\n",
        "tfxdr: error: {path}: column 'timestamp' line 2: '1.5' is not a whole number"),
    "label not 0 or 1": _csv_case(
        "user_id,item_id,domain,label\nu1,b1,books,2\n",
        "tfxdr: error: {path}: column 'label' line 2: '2' is not a click label, expected 0 or 1"),
    "undecodable byte": _csv_case(
        b"user_id,item_id,domain\nu1,b1,books\nu2,m\xff1,movies\n",
        "tfxdr: error: {path}: line 3: byte 0xff is not utf-8 text (save the file as UTF-8)"),
    "duplicate row": _csv_case(
        "user_id,item_id,domain,rating\nu1,b1,books,4\nu2,b1,books,3\nu1,b1,books,4\n",
        "tfxdr: error: {path}: line 4 repeats line 2 in every column; remove the copy (a "
        "repeated click needs its own timestamp)"),
    "unsupported file type": _csv_case(
        "user_id,item_id,domain\n", "tfxdr: error: {path}: unsupported file type '.txt', "
        "expected .csv or .parquet", name="data.txt"),
    "corrupt parquet": _csv_case(
        b"PAR1 not really", "tfxdr: error: {path}: cannot be read as Parquet: Could not open "
        "Parquet input source '{path}': Parquet magic bytes not found in footer. Either the file "
        "is corrupted or this is not a parquet file.", name="data.parquet"),
    "unknown domain": _csv_case(
        ROWS, "tfxdr: error: {path}: domain 'music' not found in column 'domain'; available: "
        "books, movies", domains="books,music"),
    "no timestamps for a time split": lambda root, finished: (
        _train(_write(root / "data.csv", ROWS), root / "out", model="sasrec"),
        f"tfxdr: error: {root / 'data.csv'}: split 'leave_one_out' needs a 'timestamp' column, "
        "which the data lacks"),
    "no timestamps for a matching split": lambda root, finished: (
        _train(_write(root / "data.csv", ROWS), root / "out", model="two_tower"),
        f"tfxdr: error: {root / 'data.csv'}: split 'chronological' needs a 'timestamp' column, "
        "which the data lacks"),
    "missing dataset file": lambda root, finished: (
        _train(root / "nowhere" / "data.csv", root / "out"),
        f"tfxdr: error: {root / 'nowhere' / 'data.csv'}: no such file or directory"),
    "unknown named dataset": lambda root, finished: (
        _train("ml-2m", root / "out"),
        "tfxdr: error: unknown dataset 'ml-2m': expected one of ml-1m, ml-100k or a path to an "
        "interactions file or directory"),
    "too few users to evaluate": _few_users,
    # Feature tables
    "item table misses items": _features_case(
        "items", "item_id,genres\nb1,Drama\n",
        "tfxdr: error: {path}: no row for item_id 'm1' ({data} line 3); a feature table must "
        "cover every id of the interactions (2 of 3 have none)"),
    "user table without its key": _features_case(
        "users", "id,age\nu1,20\n",
        "tfxdr: error: {path}: missing column 'user_id'; expected user_id plus feature "
        "columns"),
    "item table repeats an id": _features_case(
        "items", "item_id,genres\nb1,Drama\nb1,Comedy\n",
        "tfxdr: error: {path}: column 'item_id' line 3: duplicate id 'b1'"),
    # Command-line arguments
    "negative seed": _argv_case(
        ["--seed", "-1"], "tfxdr train: error: argument --seed: expected an integer >= 0, "
        "got '-1'"),
    "seed not a number": _argv_case(
        ["--seed", "one"], "tfxdr train: error: argument --seed: expected an integer >= 0, "
        "got 'one'"),
    "two split fractions": _argv_case(
        ["--split-fractions", "0.7,0.3"], "tfxdr: error: --split-fractions '0.7,0.3' is "
        "invalid: expected three positive numbers (train, val, test) summing to 1; selection "
        "needs a validation split"),
    "zero validation fraction": _argv_case(
        ["--split-fractions", "0.8,0,0.2"], "tfxdr: error: --split-fractions '0.8,0,0.2' is "
        "invalid: expected three positive numbers (train, val, test) summing to 1; selection "
        "needs a validation split"),
    "split fractions not numbers": _argv_case(
        ["--split-fractions", "a,b,c"], "tfxdr: error: --split-fractions 'a,b,c': expected "
        "three numbers"),
    "one domain": _argv_case(
        [], "tfxdr: error: --domains 'books': expected at least two comma-separated domain "
        "names", domains="books"),
    "a domain twice": _argv_case(
        [], "tfxdr: error: --domains 'books,books': a domain is listed twice",
        domains="books,books"),
    "three domains for a two-domain model": _argv_case(
        [], "tfxdr: error: --domains: model 'd2dtm' takes exactly 2 domains; got 3 (books, "
        "movies, games)", model="d2dtm", domains="books,movies,games"),
    "unknown model": _unknown_model,
    "bad overlap rule": _argv_case(
        ["--overlap", "both"], "tfxdr train: error: argument --overlap: invalid choice: 'both' "
        "(choose from 'drop', 'first', 'last', 'second')"),
    "a-train above one": _argv_case(
        ["--a-train", "1.5"], "tfxdr: error: --a-train 1.5 is invalid: expected a share in "
        "(0, 1]"),
    "a-cross zero": _argv_case(
        ["--a-cross", "0"], "tfxdr: error: --a-cross 0 is invalid: expected a share in (0, 1]"),
    # --set values
    "unknown config field": _unknown_field,
    "infinite learning rate": _argv_case(
        ["--set", "learning_rate=inf"], "tfxdr: error: MultiVAEConfig.learning_rate=inf is "
        "invalid: expected a finite number (--set learning_rate=VALUE)"),
    "learning rate not a number": _argv_case(
        ["--set", "learning_rate=fast"], "tfxdr: error: MultiVAEConfig.learning_rate='fast' is "
        "invalid: expected a number (--set learning_rate=VALUE)"),
    "no hidden layer": _argv_case(
        ["--set", "hidden_dims="], "tfxdr: error: MultiVAEConfig.hidden_dims='' is invalid: "
        "expected a comma-separated list with at least one value (--set hidden_dims=VALUE)"),
    "zero epochs": _argv_case(
        ["--epochs", "0"], "tfxdr train: error: argument --epochs: expected an integer >= 1, "
        "got '0'"),
    "negative patience": _argv_case(
        ["--set", "patience=-1"], "tfxdr: error: MultiVAEConfig.patience=-1 is invalid: "
        "expected an integer >= 0 (--set patience=VALUE)"),
    "negative batch size": _argv_case(
        ["--set", "batch_size=-5"], "tfxdr: error: MultiVAEConfig.batch_size=-5 is invalid: "
        "expected an integer >= 1 (--set batch_size=VALUE)"),
    "dropout above one": _argv_case(
        ["--set", "dropout=1.5"], "tfxdr: error: MultiVAEConfig.dropout=1.5 is invalid: "
        "expected a number in [0, 1) (--set dropout=VALUE)"),
    "setting without a value": _argv_case(
        ["--set", "latent_dim"], "tfxdr: error: override 'latent_dim' is malformed: expected "
        "key=value"),
    # bench
    "bench without models": lambda root, finished: (
        _bench(root, finished, models=" , "),
        "tfxdr: error: --models ' , ': expected comma-separated MODEL or LABEL=MODEL entries"),
    "bench with empty seeds": lambda root, finished: (
        _bench(root, finished, "--seeds", ""),
        "tfxdr: error: --seeds '': expected comma-separated integers >= 0"),
    "bench with an unknown metric": _bench_metric,
    "bench setting without a label": lambda root, finished: (
        _bench(root, finished, "--set", "latent_dim=8"),
        "tfxdr: error: --set 'latent_dim=8': expected LABEL:KEY=VALUE with LABEL one of "
        "multivae"),
    # --out
    "out is a file": _out_case(_file_at, "tfxdr: error: {out}: is a file, not a run directory"),
    "out under a file": _out_case(
        _under_file, "tfxdr: error: {out}: {root}/taken is a file, not a directory"),
    "out holds a finished run": _out_case(
        _finished_copy, "tfxdr: error: {out}: already exists; choose another --out or pass "
        "--overwrite"),
    "out is not a run": _out_case(
        _foreign_dir, "tfxdr: error: {out}: exists and is not a tfxdr run directory; refusing "
        "to replace it", "--overwrite"),
    # Run directories and checkpoints
    "evaluate a missing run": lambda root, finished: (
        ["evaluate", str(root / "nothing")],
        f"tfxdr: error: {root / 'nothing' / 'config.json'}: missing; is {root / 'nothing'} a "
        "run directory?"),
    "missing model": _run_case(
        lambda run: (run / "model.keras").unlink(), "evaluate",
        "tfxdr: error: {run}/model.keras: missing; the run directory is incomplete"),
    "truncated model": _run_case(
        _truncate("model.keras"), "evaluate",
        "tfxdr: error: {run}/model.keras: cannot be read (truncated or damaged: not a zip "
        "file)"),
    "corrupt config": _run_case(
        lambda run: (run / "config.json").write_text("{model"), "evaluate",
        "tfxdr: error: {run}/config.json: not valid JSON (Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1))"),
    "missing split": _run_case(
        lambda run: shutil.rmtree(run / "split"), "export",
        "tfxdr: error: {run}/split: missing split files; the run directory is incomplete"),
    "missing feature spec": _run_case(
        lambda run: (run / "features.json").unlink(), "evaluate",
        "tfxdr: error: {run}/features.json: missing; the run directory is incomplete or was "
        "written by an older tfxdr (train it again)"),
    "export an unfinished run": _export_unfinished,
    "export a version twice": _export_twice,
    "truncated resume file": _resume_case(
        _truncate("checkpoints/resume.npz"),
        "tfxdr: error: {staged}/checkpoints/resume.npz: not a readable resume file (File is not "
        "a zip file); pass --restart to train from the beginning"),
    "truncated best checkpoint": _truncated_best,
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_exit_status_2(case, finished, tmp_path, capsys):
    argv, expected = CASES[case](tmp_path, finished)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines == [expected]
    # Nothing that looks like a finished run appeared, and nothing there changed.
    finished_runs = [p.parent for p in tmp_path.rglob("metrics.json")
                     if p not in before]
    assert finished_runs == []
    for path, stamp in before.items():
        if path.exists():
            assert path.stat().st_mtime_ns == stamp or path.is_dir(), path
