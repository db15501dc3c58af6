"""What resumable training costs: this checkout against an earlier one, same runs.

Every epoch is now its own ``fit`` call that ends with a resume file, and every
weight is checked after each update.  This script trains the same models on the
same data with an earlier checkout (``--baseline``, e.g. a ``git worktree`` of
the commit before) and with this one, alternating so that both see the same
machine load, and prints the training seconds per epoch (validation excluded,
as in metrics.json), their ratio, and the seconds per epoch spent writing the
resume file (metrics.json's checkpoint_seconds, not in the training seconds).

    git worktree add /tmp/before 83fb3b5
    python benchmarks/reliability_overhead.py --baseline /tmp/before --out /tmp/overhead
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

RUNS = {
    "multivae": ["multivae", "--dataset", "ml-1m", "--domains", "Drama,Comedy", "--epochs", "10"],
    "cnan_at": ["cnan_at", "--dataset", "ml-100k", "--domains", "Action,Romance",
                "--epochs", "4"],
    "d2dtm": ["d2dtm", "--dataset", "ml-100k", "--domains", "Romance,Thriller",
              "--epochs", "10"],
}


def _train(checkout: Path, argv: list[str], out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "tfxdr.cli", "train", *argv, "--out", str(out), "--quiet",
               "--overwrite", "--set", "patience=0"]
    out.parent.mkdir(parents=True, exist_ok=True)  # and run there: the cwd precedes PYTHONPATH
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=out.parent)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return json.loads((out / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="an earlier checkout of tfxdr")
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", default=",".join(RUNS))
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    out = Path(args.out)
    rows = []
    for name in args.models.split(","):
        seconds = {"baseline": [], "this": [], "checkpoint": []}
        for repeat in range(args.repeats):
            for label, checkout in (("baseline", Path(args.baseline)), ("this", here)):
                report = _train(checkout, RUNS[name], out / f"{name}-{label}-{repeat}")
                seconds[label].append(report["train_seconds"] / report["epochs_run"])
                if label == "this":
                    seconds["checkpoint"].append(report["checkpoint_seconds"]
                                                 / report["epochs_run"])
        base, this, saving = (statistics.median(seconds[k])
                              for k in ("baseline", "this", "checkpoint"))
        rows.append((name, base, this, this / base, saving))
        print(f"{name}: {base:.2f} s/epoch before, {this:.2f} after", flush=True)
    print("\n| model | s/epoch before | s/epoch after | after / before | resume file s/epoch |")
    print("|---|---:|---:|---:|---:|")
    for name, base, this, ratio, saving in rows:
        print(f"| {name} | {base:.2f} | {this:.2f} | {ratio:.2f} | {saving:.2f} |")


if __name__ == "__main__":
    main()
