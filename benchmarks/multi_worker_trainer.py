"""The pipeline's Trainer on one device and on a loopback cluster of N workers.

    python benchmarks/multi_worker_trainer.py --dataset ml-100k --domains Drama,Comedy \
        --output runs/multi_worker [--workers 2] [--epochs N]

Runs the pipeline up to Transform once into two output roots, then the Trainer
step in a process of its own: ``one_device`` in the first root, and
``multi_worker`` with N processes on 127.0.0.1 (each with ``TF_CONFIG``) in the
second.  Prints a markdown table: wall seconds of the step, training seconds and
examples per second (from the run's ``metrics.json``, every worker's rows
counted once), the best epoch, test recall@20 (mean of pairs) and whether the
workers' weights are equal.  On one machine the workers share its cores: the
table shows what the collectives cost, not how a cluster scales.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from tfxdr_pipelines.component import latest
from tfxdr_pipelines.config import load_config
from tfxdr_pipelines.runner import run_pipeline

from pipeline_components import write_config

DIGEST = re.compile(r"Trainer: worker \d+ done; weights sha256 ([0-9a-f]{64})")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def trainer_step(config: Path, root: Path, workers: int) -> tuple[float, list[str]]:
    """Wall seconds of the Trainer step on ``workers`` processes (0: one device), and
    each process's standard output."""
    command = [sys.executable, "-m", "tfxdr_pipelines.cli", "step", "Trainer", str(config),
               "--output", str(root)]
    environments = [dict(os.environ)]
    if workers:
        ports = [free_port() for _ in range(workers)]
        command += ["--strategy", "multi_worker"]
        environments = [{**os.environ, "TF_CONFIG": json.dumps({
            "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
            "task": {"type": "worker", "index": index}})} for index in range(workers)]
    started = time.perf_counter()
    processes = [subprocess.Popen(command, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for env in environments]
    outputs = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode:
            raise SystemExit(f"the Trainer step failed:\n{err[-3000:]}")
        outputs.append(out)
    return time.perf_counter() - started, outputs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--domains", default="Drama,Comedy")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=0, help="0: Multi-VAE's own")
    args = parser.parse_args(argv)
    if args.output.exists():
        parser.error(f"{args.output} exists; the benchmark needs a fresh output root")
    args.output.mkdir(parents=True)
    path = write_config(args.output, args.dataset, args.domains.split(","), args.epochs)
    roots = {"one_device": args.output / "one_device",
             f"multi_worker x{args.workers}": args.output / "multi_worker"}
    for root in roots.values():
        run_pipeline(load_config(path), root, log=lambda line: None, until="Transform")
    print(f"\n{args.dataset} {args.domains}, Multi-VAE, Trainer step on "
          f"{os.cpu_count()} cores\n")
    print("| strategy | step wall s | training s | examples/s | best epoch | "
          "test recall@20 | workers' weights |\n|---|---|---|---|---|---|---|")
    for (name, root), workers in zip(roots.items(), (0, args.workers)):
        seconds, outputs = trainer_step(path, root, workers)
        trainer = latest(root, "Trainer")
        metrics = json.loads((trainer.output("model_run") / "metrics.json").read_text())
        recall = [v["recall@20"] for v in metrics["metrics"].values()]
        digests = {match for out in outputs for match in DIGEST.findall(out)}
        same = ("—" if not workers else "equal" if digests == {trainer.lineage[
            "weights_sha256"]} else "DIFFERENT")
        print(f"| {name} | {seconds:.1f} | {metrics['train_seconds']:.1f} | "
              f"{metrics['examples_per_second']:.0f} | {metrics['validation']['best_epoch']} | "
              f"{sum(recall) / len(recall):.4f} | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
