"""A real training killed twice (kill -9, then SIGTERM) and resumed, against the same
training never stopped: are the final metrics, history.csv and steps.csv the same?

    python benchmarks/resume_equality.py --out /tmp/resume -- multivae --dataset ml-1m \\
        --domains Drama,Comedy --epochs 6

Everything after ``--`` is a ``tfxdr train`` command without ``--out``.  The first
kill comes ``--kill-after`` seconds after the first epoch's end (mid-epoch),
the SIGTERM the same time after the resumed run's next epoch end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _start(argv: list[str], out: Path) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "tfxdr.cli", "train", *argv, "--out",
                             str(out), "--quiet"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _rows(path: Path) -> int:
    return len(path.read_text().splitlines()) - 1 if path.is_file() else 0


def _stop_after_next_epoch(process, staged: Path, number: int, delay: float) -> str:
    """Sends signal ``number`` ``delay`` s after steps.csv next grows; returns stderr."""
    start = _rows(staged / "steps.csv")
    while _rows(staged / "steps.csv") <= start:
        if process.poll() is not None:
            raise SystemExit(f"training ended before it could be stopped:\n"
                             f"{process.communicate()[1][-2000:]}")
        time.sleep(0.05)
    time.sleep(delay)
    process.send_signal(number)
    _, err = process.communicate()
    return f"exit {process.returncode}: " + (err.strip().splitlines() or [""])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--kill-after", type=float, default=1.0)
    parser.add_argument("train", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    argv = args.train[1:] if args.train[:1] == ["--"] else args.train
    out = Path(args.out)
    whole, stopped = out / "whole", out / "stopped"
    staged = stopped.parent / f".{stopped.name}.partial"
    for run in (whole, stopped):
        if run.exists() or staged.exists():
            raise SystemExit(f"{run} exists; choose another --out")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tfxdr.cli", "train", *argv, "--out", str(whole),
                    "--quiet"], check=True, capture_output=True)
    print(f"uninterrupted run: {time.perf_counter() - started:.0f} s", flush=True)
    print("kill -9:", _stop_after_next_epoch(_start(argv, stopped), staged, signal.SIGKILL,
                                             args.kill_after), flush=True)
    print("SIGTERM:", _stop_after_next_epoch(_start(argv, stopped), staged, signal.SIGTERM,
                                             args.kill_after), flush=True)
    resumed = _start(argv, stopped)
    _, err = resumed.communicate()
    print(f"resumed: exit {resumed.returncode}")
    same = {name: (whole / name).read_text() == (stopped / name).read_text()
            for name in ("history.csv", "steps.csv")}
    reports = [json.loads((run / "metrics.json").read_text()) for run in (whole, stopped)]
    same["test metrics"] = reports[0]["metrics"] == reports[1]["metrics"]
    same["best epoch"] = reports[0]["validation"] == reports[1]["validation"]
    for name, equal in same.items():
        print(f"{name}: {'identical' if equal else 'DIFFERENT'}")
    sys.exit(0 if all(same.values()) else 1)


if __name__ == "__main__":
    main()
