"""CTR at scale: memory and instances/s of the CTR path as the table grows, on
planted data.

    python benchmarks/ctr_scale.py --out runs/ctr_scale [--sizes 1000000,10000000]
        [--model dadin] [--steps 400]

For each size N: a two-domain table of about N events
(``tfxdr.data.synthetic.catalogue_scale``: N / 100 users with about 50 events per
domain, 20,000 + 25,400 items, power-law popularity; 40% of the events are drawn
outside the user's group's block and rated 1, the others rated 5, so the click
label, rating >= 4, is planted), written as a CSV.  Then, in a process of its own,
what ``tfxdr train`` does with it: load, split, the instances with their 50-item
histories per domain, the feature spec, the model, and ``--steps`` steps of
``model.fit`` on the task's training dataset (the histories gathered per batch),
then the validation AUC.  Prints: training instances, seconds to prepare,
instances/s over the steps after the first 20, the validation AUC, and the
process's peak resident memory after preparing and at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOMAINS = ("books", "movies")
ITEMS = (20_000, 25_400)
WARMUP_STEPS = 20


def peak_rss() -> int:
    """This process's peak resident memory, bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(csv: Path, model_name: str, steps: int) -> dict:
    """The CTR path of ``tfxdr train`` on ``csv`` for ``steps`` steps (in this process)."""
    import keras

    from tfxdr import experiment
    from tfxdr.training import set_seed

    set_seed(0)
    started = time.perf_counter()
    planned = experiment.plan_run(model_name, experiment.DataConfig(str(csv), DOMAINS))
    run_dir = Path(tempfile.mkdtemp(prefix="ctr-scale-"))
    experiment.write_inputs(planned, run_dir, quiet=True)
    features, prepared = experiment.read_inputs(planned, run_dir)
    task, config = planned.task, planned.config
    prepare_seconds = time.perf_counter() - started
    prepared_rss = peak_rss()

    times = []

    class StepTimes(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter())

    model = planned.spec.create(config, features, 0)
    dataset = task.train_dataset(prepared, config.batch_size, 0)
    model.fit(dataset.repeat().take(steps), epochs=1, verbose=0, callbacks=[StepTimes()])
    timed = len(times) - WARMUP_STEPS
    auc = task.evaluate(model, prepared, "val")
    return {"train_instances": task.num_train_examples(prepared),
            "prepare_seconds": prepare_seconds,
            "instances_per_second": timed * config.batch_size / (times[-1] - times[WARMUP_STEPS - 1]),
            "val_auc": {domain: values["auc"] for domain, values in auc.items()},
            "prepared_rss": prepared_rss, "peak_rss": peak_rss()}


def generate(size: int, csv: Path) -> None:
    """The table of about ``size`` events, written atomically to ``csv``."""
    from tfxdr.data.synthetic import catalogue_scale

    frame = catalogue_scale(size // 100, ITEMS, clicks_per_domain=50.0, noise=0.4,
                            domains=DOMAINS, noise_rating=1.0)
    frame.to_csv(csv.with_suffix(".part"), index=False)
    os.replace(csv.with_suffix(".part"), csv)


def child(args: list[str]) -> str:
    """This script in a process of its own (its memory is its own); its last line."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def sizes(text: str) -> list[int]:
    """``--sizes``: positive integers, comma-separated."""
    try:
        values = [int(s) for s in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 100:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers of events >= 100, "
                                         "comma-separated, e.g. 1000000,10000000")
    return values


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", default="1000000,10000000", type=sizes,
                        help="events per table, comma-separated")
    parser.add_argument("--model", default="dadin")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's CSV
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps <= WARMUP_STEPS:
        parser.error(f"--steps: expected more than {WARMUP_STEPS} (the first "
                     f"{WARMUP_STEPS} are not timed), got {args.steps}")
    from tfxdr.registry import MODELS

    ctr_models = [spec.name for spec in MODELS.specs() if spec.task == "ctr"]
    if args.model not in ctr_models:
        parser.error(f"--model: {args.model!r} is not a CTR model; expected one of "
                     f"{', '.join(ctr_models)}")
    if args.measure:
        print(json.dumps(measure(args.measure, args.model, args.steps)))
        return 0
    if args.generate:
        generate(args.sizes[0], args.generate)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{args.model}, {args.steps} steps, domains {' + '.join(DOMAINS)} with "
          f"{ITEMS[0]:,} + {ITEMS[1]:,} items\n")
    print("| events | training instances | prepare s | instances/s | val AUC | "
          "peak RSS after preparing, GB | peak RSS, GB |\n|---|---|---|---|---|---|---|",
          flush=True)
    rows = []
    for size in args.sizes:
        csv = args.out / f"ctr-{size}.csv"
        if not csv.exists():
            child(["--out", str(args.out), "--sizes", str(size), "--generate", str(csv)])
        with csv.open() as lines:
            events = sum(1 for _ in lines) - 1
        row = {"events": events, **json.loads(child(
            ["--out", str(args.out), "--model", args.model, "--steps", str(args.steps),
             "--measure", str(csv)]))}
        rows.append(row)
        auc = " / ".join(f"{v:.3f}" for v in row["val_auc"].values())
        print(f"| {events:,} | {row['train_instances']:,} | {row['prepare_seconds']:.0f} | "
              f"{row['instances_per_second']:,.0f} | {auc} | {row['prepared_rss'] / 1e9:.2f} | "
              f"{row['peak_rss'] / 1e9:.2f} |", flush=True)
    (args.out / "ctr_scale.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
