"""What the preprocessing layer costs inside a training step.

Every model's first layer turns raw ids into indices (vocabulary lookups,
history truncation, entity attributes).  This measures, on real training
batches, the mean time of one training step (``train_on_batch``, the
preprocessing included) and of the preprocessing layer alone (compiled as a
``tf.function`` on the same batches), and reports their ratio: the share of a
step the lookups take, measured in one run so that the machine's load cancels.

Usage::

    python benchmarks/preprocessing_cost.py --model cnan_at --dataset ml-100k --domains Drama,Comedy
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfxdr.data import make_split, parse_domains  # noqa: E402
from tfxdr.experiment import DataConfig, load_interactions  # noqa: E402
from tfxdr.registry import resolve_config  # noqa: E402
from tfxdr.tasks import TASKS  # noqa: E402
from tfxdr.training import set_seed  # noqa: E402


def _mean_ms(function, batches, repeats: int) -> float:
    for batch in batches[:2]:  # tracing and warm-up
        function(batch)
    start = time.perf_counter()
    for _ in range(repeats):
        for batch in batches:
            function(batch)
    return 1000 * (time.perf_counter() - start) / (repeats * len(batches))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="cnan_at")
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--domains", default="Drama,Comedy")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    model_spec, config = resolve_config(args.model)
    task = TASKS[model_spec.task]()
    data = DataConfig(dataset=args.dataset, domains=parse_domains(args.domains))
    interactions = task.restrict(load_interactions(data, quiet=True))
    split_spec = dataclasses.replace(task.default_split, seed=args.seed)
    split = task.select_training_rows(make_split(interactions, split_spec),
                                      interactions.domains, config, args.seed)
    spec = task.feature_spec(interactions, split, config)
    prepared = task.prepare(split, spec, config)
    set_seed(args.seed)
    model = model_spec.create(config, spec, args.seed)
    batches = list(task.train_dataset(prepared, config.batch_size, args.seed)
                   .take(args.batches))
    requests = [batch[0] if isinstance(batch, tuple) else batch for batch in batches]

    preprocess = tf.function(lambda request: model.preprocessor(request))
    step_ms = _mean_ms(lambda batch: model.train_on_batch(*batch) if isinstance(batch, tuple)
                       else model.train_on_batch(batch), batches, args.repeats)
    lookup_ms = _mean_ms(preprocess, requests, args.repeats)
    print(f"{args.model} on {args.dataset} {args.domains}, batch {config.batch_size}, "
          f"{len(batches)} batches x {args.repeats}, TensorFlow {tf.__version__}, "
          f"{os.cpu_count()} CPU cores")
    print(f"training step (preprocessing included): {step_ms:8.2f} ms")
    print(f"preprocessing layer alone:              {lookup_ms:8.2f} ms "
          f"({100 * lookup_ms / step_ms:.1f}% of a step)")
    print(f"example request: {sorted(requests[0])}; indices: "
          f"{np.asarray(next(iter(preprocess(requests[0]).values()))).shape}")


if __name__ == "__main__":
    main()
