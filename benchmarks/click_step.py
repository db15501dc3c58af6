"""A click model's training step at catalogue scale: clicks read as bags against
dense click vectors, in one run.

    python benchmarks/click_step.py [--items 30800,39000] [--clicks 10] [--steps 10]
        [--updates fused,keras] [--set KEY=VALUE ...]

Builds the model on a two-domain spec of ``--items`` items once per
``click_inputs`` (bags, dense) and ``adam_update`` (``--updates``: fused and Keras's
Adam by default), all from the same weights, draws batches of ``batch_size`` users with
``--clicks`` clicks per domain from a power-law popularity, and times
``train_on_batch`` after one untimed step.  Prints ms per step, users per second,
the ratios, and the step's matrix-product FLOPs (counted from the traced step as
``benchmarks/throughput.py`` counts them; a bag's gather and sum are not products)
over the float32 matmul rate measured in the same run: the time the step would
take at that rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from recguru_speed import matmul_peak  # noqa: E402
from throughput import step_flops  # noqa: E402
from tfxdr.features import Feature, FeatureSpec  # noqa: E402
from tfxdr.errors import ConfigError  # noqa: E402
from tfxdr.registry import resolve_config  # noqa: E402


def spec(items: list[int]) -> FeatureSpec:
    domains = tuple(f"d{k}" for k in range(len(items)))
    return FeatureSpec(domains, tuple(
        Feature(f"items_{d}", "multi_valued", vocabulary=tuple(f"{d}_{i}" for i in range(n)),
                domain=d) for d, n in zip(domains, items)))


def batches(items: list[int], users: int, clicks: int, count: int, seed: int = 0) -> list:
    """``count`` batches of raw ids, each item drawn with probability ~ 1 / rank."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        batch = {}
        for k, n in enumerate(items):
            popularity = 1.0 / np.arange(1, n + 1)
            picks = rng.choice(n, size=(users, clicks), p=popularity / popularity.sum())
            batch[f"items_d{k}"] = np.char.add(f"d{k}_", picks.astype(str)).astype(object)
        out.append(batch)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="multivae")
    parser.add_argument("--items", default="30800,39000")
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--updates", default="fused,keras",
                        help="adam_update values to time, comma-separated")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="a config field of the model (repeatable)")
    args = parser.parse_args(argv)
    updates = args.updates.split(",")
    if not set(updates) <= {"fused", "keras"}:
        parser.error(f"--updates: expected fused and/or keras, comma-separated, "
                     f"got {args.updates!r}")
    items = [int(n) for n in args.items.split(",")]
    try:
        model_spec, config = resolve_config(args.model, args.overrides)
    except ConfigError as error:
        parser.error(str(error))
    data = batches(items, config.batch_size, args.clicks, args.steps + 1)
    print(f"{args.model}, items {' + '.join(f'{n:,}' for n in items)}, batch "
          f"{config.batch_size}, {args.clicks} clicks per user and domain\n")
    peak = matmul_peak()
    print(f"float32 matmul rate measured now: {peak:.0f} GFLOP/s\n")
    print("| inputs | Adam update | ms per step | users/s | GFLOP per step | "
          "ms at the matmul rate | step / that |\n|---|---|---|---|---|---|---|")
    timings = {}
    weights = None
    for sparse in (True, False):
        for update in updates:
            model = model_spec.create(dataclasses.replace(
                config, click_inputs="bags" if sparse else "dense", adam_update=update),
                spec(items), seed=0)
            if weights is None:
                weights = model.get_weights()
            model.set_weights(weights)
            model.train_on_batch(data[0])
            started = time.perf_counter()
            for batch in data[1:]:
                model.train_on_batch(batch)
            seconds = timings[sparse, update] = (time.perf_counter() - started) / args.steps
            row = (f"| {'bags' if sparse else 'dense vectors'} | {update} | "
                   f"{1000 * seconds:.0f} | {config.batch_size / seconds:.0f} |")
            flops = step_flops(model, data[1])
            bound = flops / peak / 1e9
            row += f" {flops / 1e9:.1f} | {1000 * bound:.0f} | {seconds / bound:.2f} |"
            print(row, flush=True)
    print()
    for update in updates:
        print(f"bags / dense time, {update} Adam: "
              f"{timings[True, update] / timings[False, update]:.2f}")
    if len(updates) == 2:
        for sparse in (True, False):
            print(f"fused / Keras Adam time, {'bags' if sparse else 'dense vectors'}: "
                  f"{timings[sparse, 'fused'] / timings[sparse, 'keras']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
