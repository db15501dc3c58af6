"""AFT's training speed on a real dataset, against the CPU's compute limit.

For the full model and AFT(D) (``--models``) this builds the run's data and
model as ``tfxdr train`` does, runs one untimed epoch of the traced training
step (tracing, thread pools), then times one epoch of the same step and,
forward only on one batch, each part of the model:

- ``general``: the discriminator's pooling, its two transformers and the first
  ConvE translation (Eqs. 6-10), once per batch;
- ``translate``: the second ConvE translation (Eq. 11), once per target domain;
- ``generator``: the masked encoder, transformer, attention and MLP (Eqs. 1-4),
  once per target domain.

FLOPs are counted from the layer sizes (matrix products and convolutions;
backward = 2 x forward): the two ConvE projections dominate, the transformers
over n tokens and the sampled item scores are small beside them.  The share of
the compute limit is measured in the same process as the rate of a large
float32 matrix product on the same threads.

    python benchmarks/aft_speed.py [--dataset ml-1m] [--domains Comedy,Action,Horror] \
        [--min-rating 3] [--models aft,aft_d] [--set k=v]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import time
import typing

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from recguru_speed import matmul_peak  # noqa: E402

from tfxdr.data import make_split  # noqa: E402
from tfxdr.data.domains import parse_domains  # noqa: E402
from tfxdr.experiment import DataConfig, load_interactions  # noqa: E402
from tfxdr.hparams.aft import AFTConfig  # noqa: E402
from tfxdr.models.base import Phase  # noqa: E402
from tfxdr.registry import resolve_config  # noqa: E402
from tfxdr.tasks import MatchingTask  # noqa: E402
from tfxdr.training import set_seed  # noqa: E402


def conve_flops(rows: int, cols: int, filters: int, kernel: int, reduce: str,
                units: int) -> float:
    """Forward FLOPs of one ConvE translation of two rows x cols images."""
    pixels = 2 * rows * cols
    conv = 2 * pixels * filters * kernel * kernel
    features = (pixels if reduce == "flatten" else cols) * filters
    return conv + 2 * features * units


def encoder_flops(dim: int, ffn: int, tokens: int) -> float:
    """Forward FLOPs of one transformer layer over ``tokens`` tokens."""
    return tokens * (8 * dim * dim + 4 * tokens * dim + 4 * dim * ffn)


def user_flops(cfg, n: int) -> dict[str, float]:
    """Forward FLOPs per user of each part (``translate`` and ``generator`` summed
    over the n targets)."""
    d = cfg.dim
    parts = {"general": 2 * cfg.d_layers * encoder_flops(d, cfg.ffn_dim, n),
             "translate": 0.0, "generator": 0.0}
    if cfg.uses_translation:
        parts["general"] += conve_flops(n, d, cfg.conve_filters, cfg.conve_kernel,
                                        cfg.conve_reduce, cfg.conve_rows * d)
        parts["translate"] = n * (2 * 2 * d * cfg.conve_rows * d + conve_flops(
            cfg.conve_rows, d, cfg.conve_filters, cfg.conve_kernel, cfg.conve_reduce, d))
    scored = cfg.num_positives + cfg.num_negatives + cfg.num_fakes * (1 + cfg.uses_generator)
    parts["translate"] += n * 2 * d * scored
    if cfg.uses_generator:
        parts["generator"] = n * (cfg.g_layers * encoder_flops(d, cfg.ffn_dim, n)
                                  + 2 * 2 * d * d)
    return parts


def timed(function, *args, repeats: int = 5) -> float:
    """Best wall seconds of ``function(*args)`` (traced once first)."""
    function(*args)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), function(*args))
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--domains", default="Comedy,Action,Horror")
    parser.add_argument("--min-rating", type=float, default=3.0)
    parser.add_argument("--models", default="aft,aft_d",
                        help="comma-separated: aft or any ablation name (aft_d, no_translation...)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    names = args.models.split(",")
    known = ("aft", *typing.get_args(typing.get_type_hints(AFTConfig)["ablation"])[1:])
    for name in names:
        if name not in known:
            parser.error(f"--models: {name!r} is not one of {', '.join(known)}")

    task = MatchingTask()
    domains = parse_domains(args.domains)
    interactions = load_interactions(DataConfig(dataset=args.dataset, domains=domains,
                                                min_rating=args.min_rating), quiet=True)
    split = make_split(interactions, dataclasses.replace(task.default_split, seed=args.seed))
    peak = matmul_peak()
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    print(f"{args.dataset} {'/'.join(domains)} (ratings >= {args.min_rating:g}); {threads} "
          f"threads; float32 matmul peak {peak:.0f} GFLOP/s")
    print(f"{'model':<16} {'users/s':>8} {'MFLOP/user':>11} {'GFLOP/s':>8} {'of peak':>8} "
          f"{'general ms':>11} {'translate ms':>13} {'generator ms':>13} {'RSS GB':>7}")
    for name in names:
        ablation = "full" if name == "aft" else name
        spec, cfg = resolve_config("aft", [f"ablation={ablation}", *args.overrides])
        features = task.feature_spec(interactions, split, cfg)
        data = task.prepare(split, features, cfg)
        set_seed(args.seed)
        model = spec.create(cfg, features, args.seed)
        model.compile_default()
        model.start_phase(Phase(1, name="adversarial"))
        step = tf.function(model.train_step, reduce_retracing=True)
        batches = task.train_dataset(data, cfg.batch_size, args.seed)
        for batch in batches:  # warm-up: tracing, thread pools
            step(batch)
        start = time.perf_counter()
        users = 0
        for batch in batches:
            step(batch)["loss"].numpy()
            users += int(batch["user_id"].shape[0])
        seconds = time.perf_counter() - start
        n = len(domains)
        parts = user_flops(cfg, n)
        # Every discriminator update is a forward and backward pass (3x); the
        # generator trains once per step and runs forward in the extra D steps.
        flops = users * (3 * cfg.d_steps * (parts["general"] + parts["translate"])
                         + (cfg.d_steps + 2) * parts["generator"])
        batch = next(iter(batches))
        general = tf.function(lambda b: model.general_representation(b, training=True))
        g_out, features_out = general(batch)
        translate = tf.function(lambda g, f: [model.translate(g, f, t, training=True)
                                              for t in range(n)])
        generator = tf.function(lambda b: [model.generator_user(b, t, training=True)
                                           for t in range(n)])
        times = [timed(general, batch), timed(translate, g_out, features_out),
                 timed(generator, batch) if cfg.uses_generator else 0.0]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
        rate = flops / seconds / 1e9
        print(f"{name:<16} {users / seconds:>8.1f} {flops / users / 1e6:>11.1f} {rate:>8.1f} "
              f"{rate / peak:>8.1%} {1e3 * times[0]:>11.1f} {1e3 * times[1]:>13.1f} "
              f"{1e3 * times[2]:>13.1f} {rss:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
