"""Click models as the catalogue grows: time per epoch, memory and quality on a
synthetic pair of Amazon's shape.

    python benchmarks/scale.py --out runs/scale [--sizes 1000,10000,30000,100000]
        [--models multivae,d2dtm,pop] [--users 9900] [--epochs N] [--set KEY=VALUE ...]

For each size N the pair has N items in one domain and 1.27 N in the other (the
ratio of a real pair of this kind), ``--users`` users with about ten clicks per
domain and power-law popularity (``tfxdr.data.synthetic.catalogue_scale``, planted
groups so that quality is measurable); it is written as a CSV under ``--out`` and
every model trains on it with ``tfxdr train`` in a process of its own: its own
schedule (early stopping on validation included) or ``--epochs`` epochs.  Prints a
markdown table: items actually clicked, epochs run and the one selected, seconds per
training epoch (the run's own ``train_seconds``, validation and checkpoints
excluded), seconds of resume checkpoints, the rest of the process's wall time
(data, validation, test, saving), the whole run's wall minutes, its peak resident
memory, and test recall@50 (mean of the two directions); then, per size, the
recall@50 of knowing each user's planted group (:func:`group_popularity_recall`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tfxdr.data.synthetic import catalogue_scale

SECOND_DOMAIN_RATIO = 1.27  # 39.0k / 30.8k items
NUM_GROUPS = 20  # catalogue_scale's default: user u belongs to group u % 20


def group_popularity_recall(split: pd.DataFrame, k: int = 50) -> float:
    """Test recall@k of ranking each domain's items by their clicks among the
    training users of the test user's own planted group, mean of domains: what
    knowing the planted group, and nothing else, gives (a reference, not a model).

    ``split``: a run's ``split/interactions.parquet`` (with its ``split`` column).
    """
    group = split["user_id"].str[1:].astype(int) % NUM_GROUPS
    split = split.assign(group=group)
    train, test = split[split["split"] == "train"], split[split["split"] == "test"]
    recalls = []
    for domain in sorted(split["domain"].unique()):
        counts = train[train["domain"] == domain].groupby(["group", "item_id"]).size()
        top = {g: set(c.sort_values(ascending=False, kind="stable")
                      .index.get_level_values("item_id")[:k])
               for g, c in counts.groupby(level="group")}
        clicked = test[test["domain"] == domain].groupby(["user_id", "group"])["item_id"]
        recalls.append(np.mean([len(set(items) & top.get(g, set())) / len(set(items))
                                for (_, g), items in clicked]))
    return float(np.mean(recalls))


def train(model: str, csv: Path, out: Path, epochs: int | None, overrides: list[str]) -> dict:
    """One ``tfxdr train`` in its own process: its metrics.json, wall seconds and peak
    resident memory (bytes)."""
    command = [sys.executable, "-m", "tfxdr.cli", "train", model, "--dataset", str(csv),
               "--domains", "books,movies", "--out", str(out), "--overwrite", "--quiet"]
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    for override in overrides:
        command += ["--set", override]
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read()[-3000:]}")
    report = json.loads((out / "metrics.json").read_text())
    return {"report": report, "wall": seconds, "rss": usage.ru_maxrss * 1024}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", default="1000,10000,30000,100000")
    parser.add_argument("--models", default="multivae,d2dtm,pop")
    parser.add_argument("--users", type=int, default=9_900)
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of every model (default: each model's own schedule)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for every model")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    schedule = f"{args.epochs} epochs" if args.epochs else "each model's own schedule"
    print(f"{args.users:,} users, about 10 clicks per user and domain, {schedule}\n")
    print("| items (books + movies) | clicked | model | epochs (best) | s per epoch | "
          "checkpoint s | other s | wall min | peak RSS GB | test recall@50 |\n"
          + "|---" * 10 + "|")
    ceilings = {}
    for size in (int(s) for s in args.sizes.split(",")):
        items = (size, int(round(size * SECOND_DOMAIN_RATIO)))
        frame = catalogue_scale(args.users, items)
        csv = args.out / f"pair-{size}.csv"
        frame.to_csv(csv, index=False)
        clicked = frame.groupby("domain")["item_id"].nunique()
        for model in args.models.split(","):
            run = train(model, csv, args.out / f"{size}" / model, args.epochs, args.set)
            if size not in ceilings:  # every model of a size trains on the same split
                ceilings[size] = group_popularity_recall(pd.read_parquet(
                    args.out / f"{size}" / model / "split" / "interactions.parquet"))
            report = run["report"]
            epochs = max(report["epochs_run"], 1)
            recall = [v["recall@50"] for v in report["metrics"].values()]
            checkpoints = report["checkpoint_seconds"]
            other = run["wall"] - report["train_seconds"] - checkpoints
            print(f"| {items[0]:,} + {items[1]:,} | {clicked['books']:,} + "
                  f"{clicked['movies']:,} | {model} | {report['epochs_run']} "
                  f"({report['validation']['best_epoch']}) | "
                  f"{report['train_seconds'] / epochs:.1f} | {checkpoints:.1f} | {other:.1f} | "
                  f"{run['wall'] / 60:.1f} | {run['rss'] / 1e9:.2f} | "
                  f"{sum(recall) / len(recall):.4f} |", flush=True)
    print("\nKnowing the planted group (ranking by the clicks of the user's own group; "
          "test recall@50, mean of domains): "
          + ", ".join(f"{size:,} items {recall:.4f}" for size, recall in ceilings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
