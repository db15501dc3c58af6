"""Throughput of the tf.data example builders on a real dataset (ML-1M by default).

For each builder this measures two things separately:

- preparation: the one-off NumPy work that turns a split frame into the
  arrays a pipeline slices (sparse click rows, sequence matrices, CTR
  instance arrays with history offsets), in seconds;
- pipeline: a full pass over the ``tf.data`` pipeline the library returns,
  after one untimed warm-up pass (graph tracing, thread pools), reported as
  examples/s and batches/s.  Every batch is pulled to the host, so the figure
  is what a training loop reading the dataset could consume at most.

The builders and their inputs follow the tasks that use them:

- click bags: the raw clicked item ids of every domain for the train users of
  a ``users`` split (70/5/25);
- sequences: per-domain raw item sequences (the last 101 training items) of
  every user of a ``leave_one_out`` split, as the sequence task feeds them;
- CTR: one raw request per train event of the ``users`` split, with every
  domain's leak-free click history (``history_len`` 50).

Usage::

    python benchmarks/builders.py [--dataset ml-1m] [--domains Drama,Comedy] [--batch-size 500]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfxdr.data import (  # noqa: E402
    CtrOptions,
    SplitSpec,
    build_ctr_instances,
    click_bag_dataset,
    click_rows,
    length_bucketed_order,
    make_split,
    parse_domains,
    sequence_batches,
    training_sequences,
)
from tfxdr.experiment import DataConfig, load_interactions  # noqa: E402


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def _full_pass(dataset: tf.data.Dataset, example_key: str) -> tuple[int, int, float]:
    """Examples, batches and seconds of one pass; every tensor is copied to the host."""
    examples = batches = 0
    start = time.perf_counter()
    for batch in dataset:
        features = batch[0] if isinstance(batch, tuple) else batch
        for value in features.values():
            value.numpy()
        examples += int(features[example_key].shape[0])
        batches += 1
    return examples, batches, time.perf_counter() - start


def _measure(name, prepare, make_dataset, example_key):
    prepared, prepare_s = _timed(prepare)
    dataset = make_dataset(prepared)
    _full_pass(dataset, example_key)  # warm-up
    examples, batches, seconds = _full_pass(dataset, example_key)
    return {"builder": name, "examples": examples, "batches": batches,
            "prepare_s": prepare_s, "pass_s": seconds,
            "examples_per_s": examples / seconds, "batches_per_s": batches / seconds}


def _print_table(rows: list[dict]) -> None:
    header = (f"{'builder':<12} {'examples':>9} {'batches':>8} {'prepare s':>10} "
              f"{'pass s':>8} {'examples/s':>12} {'batches/s':>10}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['builder']:<12} {r['examples']:>9d} {r['batches']:>8d} {r['prepare_s']:>10.2f} "
              f"{r['pass_s']:>8.2f} {r['examples_per_s']:>12,.0f} {r['batches_per_s']:>10,.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--domains", default="Drama,Comedy")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    domains = parse_domains(args.domains)
    interactions, load_s = _timed(lambda: load_interactions(
        DataConfig(dataset=args.dataset, domains=domains), quiet=True))
    frame = interactions.frame
    print(f"{args.dataset} {'/'.join(domains)}: {len(frame):,} interactions, "
          f"{frame['user_id'].nunique():,} users, loaded in {load_s:.1f} s")
    users_split, users_split_s = _timed(
        lambda: make_split(interactions, SplitSpec("users", seed=args.seed)))
    loo_split, loo_split_s = _timed(
        lambda: make_split(interactions, SplitSpec("leave_one_out", seed=args.seed)))
    print(f"splits: users {users_split_s:.2f} s, leave_one_out {loo_split_s:.2f} s; "
          f"batch size {args.batch_size}; TensorFlow {tf.__version__}, "
          f"{os.cpu_count()} CPU cores\n")
    batch_size = args.batch_size

    def prepare_clicks():
        users = np.sort(users_split["user_id"].unique())
        rows = {d: click_rows(users_split[users_split["domain"] == d], users) for d in domains}
        train_ids = users_split.loc[users_split["split"] == "train", "user_id"].unique()
        return rows, np.sort(np.searchsorted(users, train_ids))

    def clicks_dataset(prepared):
        rows, train_users = prepared
        return click_bag_dataset(rows, train_users, batch_size, seed=args.seed)

    def prepare_sequences():
        return training_sequences(loo_split, domains, 101)

    def sequences_dataset(prepared):
        users, rows = prepared
        lengths = sum((r != "").sum(axis=1) for r in rows.values())
        return sequence_batches({"user_id": users, **rows},
                                length_bucketed_order(lengths, batch_size, args.seed), batch_size)

    def prepare_ctr():
        return build_ctr_instances(users_split, domains, "train", CtrOptions(history_len=50))

    rows = [
        _measure("click bags", prepare_clicks, clicks_dataset, domains[0]),
        _measure("sequences", prepare_sequences, sequences_dataset, "user_id"),
        _measure("ctr", prepare_ctr, lambda c: c.dataset(batch_size, seed=args.seed), "item_id"),
    ]
    _print_table(rows)


if __name__ == "__main__":
    main()
