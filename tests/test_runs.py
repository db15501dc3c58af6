"""Run directories under failure and concurrent use: locks, replacement, resume checks,
divergence, self-contained evaluation."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
from keras import ops

from ctr_data import write_taste_csv
from run_copies import stopped_copy
from tfxdr.cli import main
from tfxdr.experiment import format_metrics
from tfxdr.io import _exchange, replace_directory
from tfxdr.provenance import code_digest
from tfxdr.hparams import MultiVAEConfig
from tfxdr.models.multivae import MultiVAE
from tfxdr.registry import MODELS, ModelSpec
from tfxdr.rundir import lock_path, run_lock

FAST = ["--set", "batch_size=64", "--set", "hidden_dims=64", "--set", "latent_dim=16"]


def _train(csv, out, *extra, model="multivae", epochs="3"):
    return main(["train", model, "--dataset", str(csv), "--domains", "books,movies",
                 "--out", str(out), "--epochs", epochs, "--quiet", *FAST, *extra])


def _error_line(capsys):
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tfxdr:")]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, planted_frame):
    """A finished multivae run on the planted CSV: (csv, run directory)."""
    root = tmp_path_factory.mktemp("finished")
    csv = root / "interactions.csv"
    planted_frame.to_csv(csv, index=False)
    assert _train(csv, root / "run") == 0
    return csv, root / "run"


def _copy(run, destination):
    shutil.copytree(run, destination)
    return destination


def test_a_locked_out_fails_at_once_and_a_stale_lock_is_taken_over(finished, tmp_path, capsys):
    csv, _ = finished
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(lock_path(out))!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nos.write(fd, b'4242\\n')\n"
         "print('locked', flush=True)\ntime.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        assert _train(csv, out) == 2
        assert _error_line(capsys) == (
            f"tfxdr: error: {out}: in use by process 4242 (lock {lock_path(out)}); wait for it "
            "to finish or stop it")
    finally:
        holder.kill()
        holder.wait()
    # The killed holder's lock file stays, unlocked: the next run takes it over.
    assert lock_path(out).read_text() == "4242\n"
    assert _train(csv, out) == 0
    assert (out / "metrics.json").is_file()
    assert not lock_path(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_the_lock_is_reentrant_within_a_process_only(tmp_path):
    out = tmp_path / "run"
    with run_lock(out):
        with run_lock(out):
            assert lock_path(out).read_text() == f"{os.getpid()}\n"
        assert lock_path(out).exists()  # the outer holder still has it
    assert not lock_path(out).exists()


@pytest.mark.parametrize("exchange", [True, False])
def test_replacing_a_directory_leaves_only_the_new_one(tmp_path, monkeypatch, exchange):
    old, new = tmp_path / "run", tmp_path / ".run.partial"
    old.mkdir()
    (old / "metrics.json").write_text("old")
    new.mkdir()
    (new / "metrics.json").write_text("new")
    if not exchange:  # a system without renameat2: rename aside, then into place
        monkeypatch.setattr("tfxdr.io._exchange", lambda a, b: False)
    replace_directory(new, old)
    assert (old / "metrics.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_exchange_swaps_two_directories_in_one_call(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("from a")
    if not _exchange(a, b):
        pytest.skip("this file system cannot exchange paths")
    assert (b / "x").read_text() == "from a"
    assert list(a.iterdir()) == []


def test_overwrite_replaces_a_finished_run_and_leftovers_are_removed(finished, tmp_path):
    csv, run = finished
    out = _copy(run, tmp_path / "run")
    (tmp_path / ".run.partial-x1y2").mkdir()  # an older version's scratch directory
    (tmp_path / ".run.old-z3").mkdir()        # a replacement cut short
    assert _train(csv, out, "--set", "latent_dim=8", "--overwrite") == 0
    assert json.loads((out / "config.json").read_text())["config"]["latent_dim"] == 8
    assert json.loads((out / "status.json").read_text()) == {"status": "complete"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_directory_that_is_not_a_run_is_never_replaced(finished, tmp_path, capsys):
    csv, _ = finished
    out = tmp_path / "notes"
    out.mkdir()
    (out / "todo.txt").write_text("mine")
    assert _train(csv, out, "--overwrite") == 2
    assert _error_line(capsys) == (f"tfxdr: error: {out}: exists and is not a tfxdr run "
                                   "directory; refusing to replace it")
    assert (out / "todo.txt").read_text() == "mine"


def _unfinished(run, tmp_path, name="other"):
    """A copy of a finished run staged as if it had been stopped after its last epoch."""
    return tmp_path / name, stopped_copy(run, tmp_path / f".{name}.partial")


def test_a_stopped_run_resumes_to_the_same_result(finished, tmp_path):
    csv, run = finished
    out, staged = _unfinished(run, tmp_path)
    assert _train(csv, out) == 0
    assert not staged.exists()
    resumed = json.loads((out / "metrics.json").read_text())
    original = json.loads((run / "metrics.json").read_text())
    assert resumed["metrics"] == original["metrics"]
    assert resumed["validation"] == original["validation"]


def test_a_changed_data_file_or_setting_is_named_instead_of_resumed(finished, tmp_path, capsys):
    csv, run = finished
    out, staged = _unfinished(run, tmp_path)
    assert _train(csv, out, "--set", "latent_dim=8") == 2
    assert _error_line(capsys) == (
        f"tfxdr: error: {out}: an unfinished run with other settings is in {staged} "
        "(config.latent_dim (saved 16, asked 8) differs); pass --restart to discard it")
    edited = tmp_path / "edited.csv"
    shutil.copy(csv, edited)
    config = json.loads((staged / "config.json").read_text())
    config["sources"] = {str(edited): config["sources"][str(csv)]}
    config["data"]["dataset"] = str(edited)
    (staged / "config.json").write_text(json.dumps(config))
    before = edited.stat().st_size
    with open(edited, "a") as handle:
        handle.write("u0,b1,books,2000000,1.0\n")
    size = edited.stat().st_size
    assert _train(edited, out) == 2
    assert _error_line(capsys) == (
        f"tfxdr: error: {out}: an unfinished run with other settings is in {staged} "
        f"({edited}: changed since the run was trained on it ({before} bytes then, {size} "
        "now)); pass --restart to discard it")
    assert staged.exists()
    assert _train(edited, out, "--restart") == 0  # --restart discards it and trains anew
    assert not staged.exists() and (out / "metrics.json").is_file()


def test_bench_refuses_a_finished_run_of_other_settings(finished, tmp_path, capsys):
    csv, run = finished
    bench = tmp_path / "bench"
    _copy(run, bench / "multivae" / "seed-0")
    argv = ["bench", "--models", "multivae", "--dataset", str(csv), "--domains",
            "books,movies", "--seeds", "0", "--epochs", "3", "--out", str(bench)]
    fast = [item for pair in zip(["--set"] * 3, [f"multivae:{s}" for s in FAST[1::2]])
            for item in pair]
    assert main([*argv, *fast]) == 0  # the same settings: read back, not retrained
    assert "| multivae |" in capsys.readouterr().out
    assert main([*argv, *fast[:-1], "multivae:latent_dim=8"]) == 2
    assert _error_line(capsys) == (
        f"tfxdr: error: {bench / 'multivae' / 'seed-0'}: a finished run of other settings "
        "(config.latent_dim (saved 16, asked 8) differs); choose another --out, or remove it "
        "to train it again")
    # A run of other code, all settings the same, is not mixed in either.
    config_file = bench / "multivae" / "seed-0" / "config.json"
    config = json.loads(config_file.read_text())
    config["code"] = "0123456789abcdef"
    config_file.write_text(json.dumps(config))
    assert main([*argv, *fast]) == 2
    assert _error_line(capsys) == (
        f"tfxdr: error: {bench / 'multivae' / 'seed-0'}: a finished run of other settings "
        f"(code (saved '0123456789abcdef', asked {code_digest()!r}) differs); choose another "
        "--out, or remove it to train it again")


def test_the_code_digest_follows_the_sources_and_library_versions(tmp_path, monkeypatch):
    from tfxdr import provenance

    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.py").write_text("y = 2\n")
    (package / "notes.txt").write_text("not code")
    monkeypatch.setattr(provenance, "PACKAGE", package)
    versions = {"tensorflow": "2.1", "keras": "3.0", "numpy": "2.0", "pandas": "absent"}
    monkeypatch.setattr(provenance, "library_version", lambda name: versions[name])

    def digest():
        provenance.code_digest.cache_clear()
        return provenance.code_digest()

    first = digest()
    expected = hashlib.sha256(b"a.py\0x = 1\n\0sub/b.py\0y = 2\n\0tensorflow==2.1\0"
                              b"keras==3.0\0numpy==2.0\0pandas==absent\0").hexdigest()[:16]
    assert first == expected
    (package / "notes.txt").write_text("changed")
    assert digest() == first  # only the sources count
    versions["numpy"] = "2.1"
    assert digest() != first  # and the libraries' versions
    versions["numpy"] = "2.0"
    (package / "sub" / "b.py").write_text("y = 3\n")
    assert digest() != first
    provenance.code_digest.cache_clear()


@pytest.mark.parametrize("model, settings", [
    ("multivae", FAST),
    ("lr", ["--set", "batch_size=256"]),
])
def test_a_run_is_evaluated_from_anywhere_after_its_data_moved(planted_frame, tmp_path,
                                                               monkeypatch, capsys, model,
                                                               settings):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    if model == "lr":
        write_taste_csv(work / "interactions.csv", users=120)
        domains = "movies,books"
    else:
        planted_frame.to_csv("interactions.csv", index=False)
        domains = "books,movies"
    assert main(["train", model, "--dataset", "interactions.csv", "--domains", domains,
                 "--out", "run", "--epochs", "1", "--quiet", *settings]) == 0
    saved = json.loads((work / "run" / "config.json").read_text())
    assert saved["data"]["dataset"] == str(work / "interactions.csv")
    assert list(saved["sources"]) == [str(work / "interactions.csv")]
    (work / "interactions.csv").rename(tmp_path / "moved.csv")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["evaluate", str(work / "run")]) == 0
    printed = capsys.readouterr().out.splitlines()
    metrics = json.loads((work / "run" / "metrics.json").read_text())["metrics"]
    assert printed[1:] == format_metrics(metrics).splitlines()
    assert main(["export", str(work / "run")]) == 0


class _Diverging(MultiVAE):
    """Multi-VAE whose loss becomes infinite after 10 training steps."""

    def compute_losses(self, data, training=True):
        losses = super().compute_losses(data, training)
        if training:
            poison = ops.where(self.optimizer.iterations >= 10, float("inf"), 0.0)
            losses["loss"] = losses["loss"] + poison
        return losses


@pytest.fixture()
def diverging_model():
    MODELS.register(ModelSpec("diverging", _Diverging, MultiVAEConfig, "clicks", "test"))
    yield "diverging"
    del MODELS._specs["diverging"]


def test_a_diverged_run_is_kept_marked_failed_and_its_best_checkpoint_scores(
        finished, tmp_path, capsys, diverging_model):
    csv, _ = finished
    out = tmp_path / "run"
    staged = tmp_path / ".run.partial"
    # 7 steps per epoch at batch size 64: epoch 1 is checkpointed, step 11 diverges.
    assert _train(csv, out, model=diverging_model) == 2
    assert _error_line(capsys) == (
        "tfxdr: error: training diverged: loss term 'loss' is not finite at epoch 2, step 11; "
        f"no update with it was applied; the run is kept in {staged}, marked failed, and "
        f"`tfxdr evaluate {staged}` scores its best checkpoint; try a smaller learning_rate "
        "(--set learning_rate=VALUE)")
    assert not out.exists()
    status = json.loads((staged / "status.json").read_text())
    assert status["status"] == "failed" and "epoch 2, step 11" in status["reason"]
    assert (staged / "checkpoints" / "best.weights.h5").is_file()
    assert main(["evaluate", str(staged)]) == 0
    assert "(unfinished run, status failed: its best checkpoint)" in capsys.readouterr().out
    # The same command does not resume into the same divergence; --restart trains again.
    assert _train(csv, out, model=diverging_model) == 2
    assert _error_line(capsys).startswith(
        f"tfxdr: error: {out}: the unfinished run in {staged} failed (training diverged: ")


def test_callbacks_given_to_train_see_every_epoch_and_step(finished, tmp_path):
    import keras

    from tfxdr.experiment import DataConfig, train

    csv, _ = finished
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append([epoch, 0])

        def on_train_batch_end(self, batch, logs=None):
            seen[-1][1] += 1

    overrides = [f"{k}={v}" for k, v in (("batch_size", 64), ("hidden_dims", 64),
                                          ("latent_dim", 16))]
    report = train("multivae", DataConfig(str(csv), ("books", "movies")), tmp_path / "run",
                   overrides=overrides, epochs=2, verbose=0, callbacks=[Recorder()])
    assert [epoch for epoch, _ in seen] == [0, 1] and report["epochs_run"] == 2
    logged = (tmp_path / "run" / "steps.csv").read_text().splitlines()[1:]  # a row a step
    assert [steps for _, steps in seen] == [sum(row.split(",")[1] == str(e) for row in logged)
                                            for e in (1, 2)]
    assert seen[0][1] > 1


def test_checkpoint_due_bounds_the_share_of_time_spent_writing_checkpoints():
    from tfxdr.resume import checkpoint_due

    assert checkpoint_due(0.0, None)  # none written yet by this process
    assert checkpoint_due(0.0, 0.9)  # cheap: every epoch
    assert not checkpoint_due(99.0, 10.0)  # 10 s of writing in 99 s: over a tenth
    assert checkpoint_due(100.0, 10.0)
    assert not checkpoint_due(39.0, 10.0, overhead=0.25)
    assert checkpoint_due(40.0, 10.0, overhead=0.25)
    assert checkpoint_due(0.0, 10.0, overhead=None)  # --checkpoint-every-epoch


def test_skipped_checkpoints_leave_the_final_one_and_the_same_result(finished, tmp_path,
                                                                     monkeypatch):
    import tfxdr.training as training

    csv, run = finished
    asked, written = [], []
    monkeypatch.setattr(training, "checkpoint_due",
                        lambda since, last, overhead: asked.append(overhead) or False)
    saving = training.save_training_state
    monkeypatch.setattr(training, "save_training_state",
                        lambda *args: written.append(args[2]["progress"]["epoch"]) or saving(*args))
    assert _train(csv, tmp_path / "every", "--checkpoint-every-epoch") == 0
    assert _train(csv, tmp_path / "bounded") == 0
    assert asked == [None, None, 0.1, 0.1]  # epochs 1 and 2 of each run; 3 is the last
    assert written == [3, 3]
    original = json.loads((run / "metrics.json").read_text())
    for out in ("every", "bounded"):
        report = json.loads((tmp_path / out / "metrics.json").read_text())
        assert report["metrics"] == original["metrics"]
