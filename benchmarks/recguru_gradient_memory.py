"""Peak memory and time of one RecGURU training step on the longest users: the
gradient taken one domain at a time (as the model trains) against one joint tape.

Each variant runs in a fresh process (peak resident memory only grows), on the
``batch_size`` users with the longest histories, where a step's activations peak:

    python benchmarks/recguru_gradient_memory.py            # both variants, both phases
    python benchmarks/recguru_gradient_memory.py joint pretrain

The joint adversarial variant differentiates Eq. 13 without the critic's updates,
so only its memory, not its time, compares with the model's step.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import subprocess
import sys
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

VARIANTS = ("joint", "per_domain")
PHASES = ("pretrain", "adversarial")


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def longest_batch(dataset: str = "ml-1m", domains: str = "Drama,Comedy"):
    """The model and the ``batch_size`` users with the most training items."""
    spec, cfg = resolve_config("recguru", [])
    task = SequenceTask()
    interactions = load_interactions(DataConfig(dataset=dataset,
                                                domains=parse_domains(domains)), quiet=True)
    split = make_split(interactions, dataclasses.replace(task.default_split, seed=0))
    features = task.feature_spec(interactions, split, cfg)
    with tempfile.TemporaryDirectory() as scratch:
        task.write_inputs(scratch, split, features, cfg, 0)
        data = task.prepare(split, features, cfg, scratch)
    set_seed(0)
    model = spec.create(cfg, features, 0)
    lengths = sum((rows != "").sum(axis=1) for rows in data.train.values())
    rows = np.argsort(-lengths, kind="stable")[:cfg.batch_size]
    batch = {"user_id": tf.constant(data.users[rows].astype(str))}
    batch.update({name: tf.constant(values[rows].astype(str))
                  for name, values in data.train.items()})
    return model, batch


def joint_step(model, phase: str):
    """Eq. 5 (and Eq. 13's W and l2 in the adversarial phase) under one tape."""
    optimizer = model.extra_optimizers["pretrain"] if phase == "pretrain" else model.optimizer

    @tf.function
    def step(inputs):
        variables = model.generator_variables()
        with tf.GradientTape() as tape:
            if phase == "adversarial":
                loss = model.joint_generator_loss(inputs)
            else:
                loss = sum(model._autoencode(inputs, k)[2] for k in (0, 1))
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return step


def measure(variant: str, phase: str, steps: int = 5) -> None:
    model, batch = longest_batch()
    model.start_phase(Phase(1, name=phase))
    step = tf.function(model.train_step) if variant == "per_domain" else joint_step(model, phase)
    step(batch)  # tracing
    start = time.perf_counter()
    for _ in range(steps):
        step(batch)
    seconds = (time.perf_counter() - start) / steps
    width = int(tf.shape(model.tokens(batch, 0, model.config.max_len))[1])
    print(f"| {phase} | {variant} | {len(batch['user_id'])} x {width} | {seconds:.2f} | "
          f"{peak_gb():.2f} |", flush=True)


def main(argv: list[str]) -> None:
    if argv:
        measure(*argv)
        return
    print("| phase | gradient | users x items | s/step | peak RSS GB |\n|---|---|---|---|---|")
    for phase in PHASES:
        for variant in VARIANTS:
            subprocess.run([sys.executable, __file__, variant, phase], check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
