"""Real training processes killed mid-epoch (kill -9, SIGTERM), then the same command:
the resumed run ends exactly as an uninterrupted one, and a second process on the
same --out fails at once."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ctr_data import write_taste_csv
from tfxdr.cli import main

pytestmark = pytest.mark.integration


def _command(model, csv, domains, out, epochs, batch_size):
    return ["train", model, "--dataset", str(csv), "--domains", domains, "--out", str(out),
            "--epochs", str(epochs), "--set", f"batch_size={batch_size}", "--quiet"]


def _start(argv):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "tfxdr.cli", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_steps(staged, rows, process, timeout=300):
    """Waits until ``steps.csv`` has ``rows`` data rows (it grows at each epoch's end)."""
    deadline = time.monotonic() + timeout
    steps = staged / "steps.csv"
    while time.monotonic() < deadline:
        if steps.is_file() and len(steps.read_text().splitlines()) - 1 >= rows:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"{steps}: fewer than {rows} rows after {timeout} s")


def _checkpoint_times(staged, process, count=2, timeout=300):
    """When each of the first ``count`` epochs' resume checkpoints was written (each
    epoch ends by replacing ``checkpoints/resume.npz`` atomically)."""
    path = staged / "checkpoints" / "resume.npz"
    seen, times = None, []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(times) < count:
        try:
            version = path.stat().st_ino, path.stat().st_mtime_ns
        except FileNotFoundError:
            version = None
        if version is not None and version != seen:
            seen = version
            times.append(time.monotonic())
        elif process.poll() is not None:
            raise AssertionError(f"{path}: process ended after {len(times)} checkpoints")
        time.sleep(0.01)
    assert len(times) == count, f"{path}: {len(times)} checkpoints after {timeout} s"
    return times


def _same_run(a, b):
    for name in ("steps.csv", "history.csv"):
        assert (a / name).read_text() == (b / name).read_text(), name
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    assert first["metrics"] == second["metrics"]
    assert first["validation"] == second["validation"]
    assert first["epochs_run"] == second["epochs_run"]


def test_kill_9_mid_epoch_then_the_same_command_resumes_a_click_model(planted_csv, tmp_path,
                                                                      capsys):
    # d2dtm: two players, two optimizers, sampling noise.  27 steps per epoch.
    argv = _command("d2dtm", planted_csv, "books,movies", tmp_path / "run", 4, 16)
    assert main(_command("d2dtm", planted_csv, "books,movies", tmp_path / "whole", 4, 16)) == 0
    process = _start(argv)
    _wait_for_steps(tmp_path / ".run.partial", 27, process)  # epoch 1 trained
    _checkpoint_times(tmp_path / ".run.partial", process, count=1)  # and checkpointed
    time.sleep(0.3)  # into epoch 2
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert json.loads((tmp_path / ".run.partial" / "status.json").read_text())["status"] == \
        "running"  # a killed process writes nothing more
    # A second process finds the first one's lock free and the run resumable.
    capsys.readouterr()
    assert main(argv[:-1]) == 0
    assert "resuming" in capsys.readouterr().err
    _same_run(tmp_path / "whole", tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != planted_csv.name) == \
        ["run", "whole"]


def test_sigterm_mid_epoch_checkpoints_that_step_and_resumes_a_ctr_model(tmp_path):
    # cnan_at: adversarial, dropout, a second optimizer; 100 users, 2 epochs.
    csv = write_taste_csv(tmp_path / "clicks.csv", users=100)
    argv = _command("cnan_at", csv, "movies,books", tmp_path / "run", 2, 32)
    # Each epoch ends by replacing its resume checkpoint; the uninterrupted run shows
    # how long epoch 2 takes on this machine, so the signal lands a third into it.
    whole = _start(_command("cnan_at", csv, "movies,books", tmp_path / "whole", 2, 32))
    first, second = _checkpoint_times(tmp_path / ".whole.partial", whole)
    _, err = whole.communicate()
    assert whole.returncode == 0, err
    process = _start(argv)
    _checkpoint_times(tmp_path / ".run.partial", process, count=1)
    time.sleep((second - first) / 3)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate()
    assert process.returncode == 128 + signal.SIGTERM
    last = err.strip().splitlines()[-1]
    assert last.startswith("tfxdr: SIGTERM: training stopped at epoch 2, step ")
    assert last.endswith(f"a checkpoint was written in {tmp_path / '.run.partial'}; run the "
                         "same command to resume")
    status = json.loads((tmp_path / ".run.partial" / "status.json").read_text())
    assert status["status"] == "interrupted"
    process = _start(argv)
    _, err = process.communicate()
    assert process.returncode == 0, err
    _same_run(tmp_path / "whole", tmp_path / "run")


def test_a_second_run_on_the_same_out_fails_at_once_and_the_first_finishes(planted_csv,
                                                                          tmp_path, capsys):
    argv = _command("d2dtm", planted_csv, "books,movies", tmp_path / "run", 3, 16)
    first = _start(argv)
    _wait_for_steps(tmp_path / ".run.partial", 1, first)
    assert main(argv) == 2
    line = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tfxdr:")][0]
    assert line == (f"tfxdr: error: {tmp_path / 'run'}: in use by process {first.pid} (lock "
                    f"{tmp_path / '.run.lock'}); wait for it to finish or stop it")
    _, err = first.communicate()
    assert first.returncode == 0, err
    assert json.loads((tmp_path / "run" / "status.json").read_text()) == {"status": "complete"}


def test_kill_9_in_the_adversarial_phase_then_the_same_command_resumes_recguru(tmp_path):
    # Three phases with four optimizers; killed in the second adversarial epoch.
    from tfxdr.data.synthetic import planted_sequences

    import keras

    csv = tmp_path / "sequences.csv"
    planted_sequences(num_users=160, seed=5).to_csv(csv, index=False)
    tiny = ["--set", "max_len=6", "--set", "dim=8", "--set", "num_layers=1", "--set",
            "num_heads=1", "--set", "ffn_dim=8", "--set", "pretrain_epochs=1", "--set",
            "adversarial_epochs=2"]
    argv = _command("recguru", csv, "books,movies", tmp_path / "run", 4, 16) + tiny
    assert main(_command("recguru", csv, "books,movies", tmp_path / "whole", 4, 16) + tiny) == 0
    process = _start(argv)
    _wait_for_steps(tmp_path / ".run.partial", 20, process)  # pretraining, adversarial 1
    time.sleep(0.5)  # into the second adversarial epoch
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert main(argv) == 0
    _same_run(tmp_path / "whole", tmp_path / "run")
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    # The generator stepped only in the adversarial phase, the critic five times as often.
    assert int(model.optimizer.iterations) == 20
    assert int(model.d_optimizer.iterations) == 5 * int(model.optimizer.iterations)
    assert int(model.extra_optimizers["pretrain"].iterations) == 10
    assert int(model.extra_optimizers["finetune"].iterations) == 10
