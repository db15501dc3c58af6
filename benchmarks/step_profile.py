"""Where a model's training step spends its time: TensorFlow's profiler over the
bare step, its op time summed by op type and by the layer that made the op.

    python benchmarks/step_profile.py RUN_DIR [RUN_DIR ...] [--steps 10] [--top 12]

Each ``RUN_DIR`` is a finished run (``tfxdr train``, or one of
``benchmarks/throughput.py``'s): a fresh model of its config takes the first
``--steps`` batches of its last phase's training data, held in memory, through
``tf.function(model.train_step)`` in graph mode, once to trace and once under
``tf.profiler``.  The profile's host plane holds an event per executed op
(``name:type``); their durations are summed per op type and per stage, the
layer that made the op (``encoder``, ``gradient_tape/encoder``: a layer's
forward and backward ops count apart; an optimizer's update is its own stage).
Ops of one step run on several threads at once, so the summed op time can
exceed the step's wall time; shares are of the summed time.  Prints, per run,
the wall ms per step and two markdown tables.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from throughput import held_step, wait_for  # noqa: E402
from tfxdr import experiment  # noqa: E402

HOST_PLANE = "/host:CPU"
BOOKKEEPING = ("ReadVariableOp", "NoOp", "Identity", "_Arg", "_Retval", "Const")


def op_events(xspace: bytes) -> list[tuple[str, str, float]]:
    """(op name, op type, seconds) of every op the profile's host plane ran."""
    space = xplane_pb2.XSpace()
    space.ParseFromString(xspace)
    events = []
    for plane in space.planes:
        if plane.name != HOST_PLANE:
            continue
        names = plane.event_metadata
        for line in plane.lines:
            for event in line.events:
                full = names[event.metadata_id].name
                if "::" in full or " " in full:  # the executor's and the runtime's own events
                    continue
                name, _, kind = full.rpartition(":")
                if name and kind:
                    events.append((name, kind, event.duration_ps * 1e-12))
    return events


def stage(op_name: str) -> str:
    """The layer (or op outside any layer) that made the op: the op name's first
    path component without Keras's numbering, ``gradient_tape/`` kept:
    ``attention_1/MatMul`` -> ``attention``, ``gradient_tape/blocks_0_2_1/MatMul``
    -> ``gradient_tape/blocks`` (every block of a stack together)."""
    parts = [re.sub(r"(_\d+)+$", "", part) for part in op_name.split("/")]
    if parts[0] == "gradient_tape" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0] if len(parts) > 1 else "(step)"


def totals(events: list, key) -> list[tuple[str, float]]:
    summed = collections.Counter()
    for name, kind, seconds in events:
        if kind not in BOOKKEEPING:
            summed[key(name, kind)] += seconds
    return summed.most_common()


def profile(run_dir: Path, steps: int) -> tuple[float, list]:
    """Wall seconds per step and the op events of ``steps`` profiled steps."""
    run = experiment.load_run(run_dir)
    held = held_step(run, steps)
    if held is None:
        raise SystemExit(f"{run_dir}: its last phase has a single batch; nothing to profile")
    model, batches, _ = held
    step = tf.function(model.train_step, reduce_retracing=True)
    for batch in batches:  # traces every shape first
        step(batch)
    logdir = tempfile.mkdtemp(prefix="step-profile-")
    tf.profiler.experimental.start(logdir)
    started = time.perf_counter()
    for batch in batches:
        logs = step(batch)
    wait_for(logs)
    wall = (time.perf_counter() - started) / len(batches)
    tf.profiler.experimental.stop()
    [path] = Path(logdir).glob("plugins/profile/*/*.xplane.pb")
    return wall, op_events(path.read_bytes())


def table(title: str, rows: list, steps: int, top: int) -> str:
    whole = sum(seconds for _, seconds in rows)
    lines = [f"| {title} | ms per step | share |", "|---|---|---|"]
    for name, seconds in rows[:top]:
        lines.append(f"| {name} | {seconds / steps * 1e3:.2f} | {seconds / whole:.1%} |")
    rest = sum(seconds for _, seconds in rows[top:])
    if rest:
        lines.append(f"| (the other {len(rows) - top}) | {rest / steps * 1e3:.2f} | "
                     f"{rest / whole:.1%} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        if not (run_dir / "config.json").is_file():
            parser.error(f"{run_dir}: not a run directory (no config.json)")
    for run_dir in args.runs:
        wall, events = profile(run_dir, args.steps)
        summed = sum(seconds for _, kind, seconds in events if kind not in BOOKKEEPING)
        print(f"\n## {run_dir}\n\n{wall * 1e3:.1f} ms per step (wall), "
              f"{summed / args.steps * 1e3:.1f} ms of ops per step\n")
        print(table("op type", totals(events, lambda name, kind: kind), args.steps, args.top))
        print()
        print(table("stage", totals(events, lambda name, kind: stage(name)), args.steps,
                    args.top), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
