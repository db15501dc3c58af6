"""RecGURU's speed and memory per training phase, against the CPU's compute limit.

For each phase (pre-training, adversarial, fine-tuning) this runs one untimed
pass over the training batches (tracing, thread pools), then times a full
epoch of the same traced step ``fit`` runs, and reports:

- users/s and sequences/s (a user brings one sequence per domain it has);
- the model's FLOPs per sequence, counted from the layer sizes and each
  batch's length after the shared padding is cut (matrix products only: the
  projections, attention, feed-forward layers, item scores and the critic;
  backward = 2 x forward), and the GFLOP/s they amount to;
- the share of the CPU's compute limit, measured in the same process as the
  rate of a large float32 matrix product on the same threads;
- the process's peak resident memory after the phase.

    python benchmarks/recguru_speed.py [--dataset ml-1m] [--domains Drama,Comedy] [--set k=v]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfxdr.data import make_split  # noqa: E402
from tfxdr.data.domains import parse_domains  # noqa: E402
from tfxdr.experiment import DataConfig, load_interactions  # noqa: E402
from tfxdr.models.base import Phase  # noqa: E402
from tfxdr.registry import resolve_config  # noqa: E402
from tfxdr.tasks import SequenceTask  # noqa: E402
from tfxdr.training import set_seed  # noqa: E402


def matmul_peak(size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of a float32 [size, size] x [size, size] product, best of ``repeats``."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    product = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    product(a, b)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def layer_flops(cfg, length: int, cross: bool) -> float:
    """Forward FLOPs of one transformer layer over a sequence of ``length`` tokens."""
    d, f = cfg.dim, cfg.ffn_dim
    per_token = 8 * d * d + 4 * length * d + 4 * d * f  # projections, attention, FFN
    if cross:
        per_token += 4 * d * d  # query and output projections of the one-vector context
    return per_token * length


def sequence_flops(cfg, phase: str, length: int, num_items: int) -> float:
    """Forward + backward FLOPs of one sequence of ``length`` items in ``phase``."""
    layers = cfg.num_layers
    encoder = layers * layer_flops(cfg, length + 1, cross=False)
    if phase in ("pretrain", "adversarial"):
        decoder = layers * layer_flops(cfg, length, cross=True)
        scores = 2 * cfg.dim * length * (num_items if not cfg.reconstruction_negatives
                                         else cfg.reconstruction_negatives + 1)
        flops = 3 * (encoder + decoder + scores)
        if phase == "adversarial":  # d_steps + 1 critic passes on one GUR (tiny)
            critic = 2 * (cfg.dim * cfg.critic_dim
                          + (cfg.critic_layers - 2) * cfg.critic_dim ** 2 + cfg.critic_dim)
            flops += 3 * (cfg.d_steps + 1) * critic * 3  # forward, backward, penalty
        return flops
    short = min(length, cfg.short_term_len or cfg.max_len)
    cdsrec = layers * layer_flops(cfg, short, cross=True)
    scores = 2 * cfg.dim * short * (1 + cfg.bpr_negatives)
    return encoder + 3 * (cdsrec + scores)  # the held encoder runs forward only


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--domains", default="Drama,Comedy")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    spec, cfg = resolve_config("recguru", args.overrides)
    task = SequenceTask()
    domains = parse_domains(args.domains)
    interactions = load_interactions(DataConfig(dataset=args.dataset, domains=domains),
                                     quiet=True)
    split = make_split(interactions, dataclasses.replace(task.default_split, seed=args.seed))
    features = task.feature_spec(interactions, split, cfg)
    with tempfile.TemporaryDirectory() as scratch:
        task.write_inputs(scratch, split, features, cfg, args.seed)
        data = task.prepare(split, features, cfg, scratch)
    set_seed(args.seed)
    model = spec.create(cfg, features, args.seed)
    peak = matmul_peak()
    print(f"{args.dataset} {'/'.join(domains)}: {len(data.users)} users; "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()} "
          f"threads; float32 matmul peak {peak:.0f} GFLOP/s")
    print(f"{'phase':<12} {'users/s':>8} {'seq/s':>8} {'MFLOP/seq':>10} {'GFLOP/s':>8} "
          f"{'of peak':>8} {'peak RSS GB':>12}")
    lengths = {name: np.minimum((rows != "").sum(axis=1), cfg.max_len)
               for name, rows in data.train.items()}
    num_items = {name: len(features[name].vocabulary) for name in data.train}
    for phase in ("pretrain", "adversarial", "finetune"):
        model.start_phase(Phase(1, name=phase))
        step = tf.function(model.train_step, reduce_retracing=True)
        batches = task.train_dataset(data, cfg.batch_size, args.seed)
        for batch in batches:  # warm-up: tracing, thread pools
            step(batch)
        start = time.perf_counter()
        for batch in batches:
            step(batch)["loss"].numpy()
        seconds = time.perf_counter() - start
        # FLOPs from each batch's trimmed length per domain (the same order again).
        users = {u: i for i, u in enumerate(data.users)}
        flops = sequences = num_users = 0
        for batch in batches:
            rows = [users[u] for u in batch["user_id"].numpy().astype(str)]
            num_users += len(rows)
            for name, lens in lengths.items():
                batch_lengths = lens[rows]
                present = int((batch_lengths > 0).sum())
                sequences += present
                flops += present * sequence_flops(cfg, phase, int(batch_lengths.max()),
                                                  num_items[name])
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
        rate = flops / seconds / 1e9
        print(f"{phase:<12} {num_users / seconds:>8.1f} {sequences / seconds:>8.1f} "
              f"{flops / sequences / 1e6:>10.1f} {rate:>8.1f} {rate / peak:>8.1%} {rss:>12.2f}",
              flush=True)


if __name__ == "__main__":
    main()
