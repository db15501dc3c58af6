"""Every model against its own ceiling: training examples/s through ``tfxdr train``,
through the model's bare ``tf.function`` step, and at its FLOP bound, in one run.

    python benchmarks/throughput.py --out runs/throughput [--models a,b,...]
        [--dataset ml-1m] [--epochs 3] [--steps 20] [--no-xla]

For each model (default: every registered one), on its task's development domains
(``DEVELOPMENT``):

- ``tfxdr train``: :func:`tfxdr.experiment.train` for ``--epochs`` epochs of the
  model's last phase (after its earlier phases, e.g. RecGURU's pre-training, at
  their default lengths), each epoch's steps timed by a callback (tf.data and the
  run's per-batch callbacks included; validation and the epoch's checkpoint come
  after it and are not); the fastest epoch of the last phase but its first (which
  traces) counts.
- bare step: a fresh model of the same config, in the last phase, takes the first
  ``--steps`` batches of that phase's training dataset, held in memory, through
  ``tf.function(model.train_step)`` in graph mode; the fastest of three passes
  counts.
- input pipeline alone: one epoch of the last phase's training dataset iterated
  with nothing done to its batches: on 2 cores the pipeline and the step share the
  cores, so ``tfxdr train`` cannot beat 1 / (1 / bare + 1 / input) by much.
- XLA: the step holds the vocabulary lookups of raw ids, which XLA cannot compile,
  so the same batches with their lookups done beforehand go through the step in
  graph mode and with ``jit_compile=True`` (unless ``--no-xla``): the ratio is
  what XLA would give the rest of the step.  Both time only the batches of the
  commonest input shape, so that XLA compiles once.
- FLOP bound: the FLOPs of the step's matrix products and convolutions (forward
  and backward, from the shapes they have when the step runs) per example, over
  the float32 matmul rate measured just before (the load of a shared machine
  drifts during a run): the step's time if it did
  nothing but its matrix products at that rate.  Elementwise work, gathers and the
  optimizer's update are not counted, so a model whose step is mostly those (FM,
  LR, embedding tables) sits far from this bound by construction.

Examples are the task's training examples (a user, a sequence, an instance); the
same count per batch is used for all three rates.  Prints a markdown table and
writes it with the raw numbers to ``--out/throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.eager import wrap_function  # noqa: E402

from recguru_speed import matmul_peak  # noqa: E402
from tfxdr import experiment  # noqa: E402
from tfxdr.registry import MODELS  # noqa: E402

# Each task's development data: the domains its results pages report on.
DEVELOPMENT = {
    "clicks": dict(domains=("Drama", "Comedy")),
    "ctr": dict(domains=("Drama", "Comedy")),
    "sequences": dict(domains=("Drama", "Comedy")),
    "matching": dict(domains=("Comedy", "Action", "Horror"), min_rating=3.0),
}
PASSES = 3
EARLIER_PHASES = ("pretrain_epochs", "adversarial_epochs", "source_epochs")


class EpochTimer(keras.callbacks.Callback):
    """Seconds from each epoch's start to the end of its last step (validation,
    which later callbacks run at the epoch's end, excluded)."""

    def __init__(self):
        super().__init__()
        self.seconds: dict[int, float] = {}

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds[epoch] = time.perf_counter() - self._started


MATMUL_OPS = ("MatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum", "Conv2D",
              "Conv2DBackpropInput", "Conv2DBackpropFilter")


def einsum_sizes(equation: str, shapes: list) -> tuple[dict, str]:
    """Each index letter's size in a two-operand einsum, and the output's letters."""
    inputs, output = equation.replace(" ", "").split("->")
    sizes = {}
    for subscripts, shape in zip(inputs.split(","), shapes):
        left, _, right = subscripts.partition("...")
        letters = list(left) + [None] * (len(shape) - len(left) - len(right)) + list(right)
        sizes.update({letter: int(n) for letter, n in zip(letters, shape) if letter})
    return sizes, output


def op_flops(op, inputs: list, output) -> float:
    """FLOPs (2 per multiply-add) of one matrix product or convolution from the
    run-time shapes of its inputs and output (a filter gradient's input 1 is the
    filter's sizes themselves)."""
    if op.type == "Einsum":  # every index letter once: output letters x contracted ones
        return 2.0 * float(np.prod(list(einsum_sizes(op.get_attr("equation").decode(),
                                                     inputs)[0].values())))
    if op.type.startswith("Conv2D"):  # Conv2D: the output; a gradient: out_backprop
        produced = output if op.type == "Conv2D" else inputs[2]
        return 2.0 * float(np.prod(produced)) * float(np.prod(inputs[1][:3]))
    if op.type == "MatMul":
        inner = inputs[0][0] if op.get_attr("transpose_a") else inputs[0][1]
    else:
        inner = inputs[0][-2] if op.get_attr("adj_x") else inputs[0][-1]
    return 2.0 * float(np.prod(output)) * float(inner)


def live_ops(graph) -> set:
    """The ops a call of ``graph`` runs: those its outputs and its stateful ops (the
    weight updates) depend on; gradients nobody reads (an input's) are left out, as
    the runtime leaves them out."""
    live, todo = set(), [t.op for t in graph.outputs] + list(graph.control_outputs)
    while todo:
        op = todo.pop()
        if op not in live:
            live.add(op)
            todo += [t.op for t in op.inputs] + list(op.control_inputs)
    return live


def step_flops(model, batch) -> float:
    """FLOPs of the matrix products and convolutions of one training step on
    ``batch`` (forward and backward), from the shapes they have when the step runs
    (a sequence's length is known only then).  Elementwise work is not counted."""
    graph = tf.function(model.train_step).get_concrete_function(batch).graph
    live = live_ops(graph)
    ops = [op for op in graph.get_operations() if op.type in MATMUL_OPS and op in live]
    with graph.as_default():
        fetches = [([tf.identity(t) if (op.type, k) == ("Conv2DBackpropFilter", 1)
                     else tf.shape(t) for k, t in enumerate(op.inputs)],
                    tf.shape(op.outputs[0])) for op in ops]
    flat_batch = [tf.convert_to_tensor(v) for v in tf.nest.flatten(batch, expand_composites=True)]
    wrapped = wrap_function.WrappedFunction(
        graph, wrap_function.VariableHolder(share_variables=True))
    shapes = wrapped.prune(graph.inputs[:len(flat_batch)], tf.nest.flatten(fetches))(*flat_batch)
    shapes = tf.nest.pack_sequence_as(fetches, [v.numpy() for v in shapes])
    return sum(op_flops(op, inputs, output) for op, (inputs, output) in zip(ops, shapes))


def wait_for(logs) -> None:
    """Blocks until a step's outputs are computed (steps run asynchronously)."""
    tf.nest.map_structure(lambda v: v.numpy() if hasattr(v, "numpy") else v, logs)


def timed_passes(step, batches: list) -> float:
    """Fastest of ``PASSES`` passes over ``batches`` after one that traces, seconds
    per batch."""
    best = float("inf")
    for timed in [False] + [True] * PASSES:
        started = time.perf_counter()
        for batch in batches:
            logs = step(batch)
        wait_for(logs)
        if timed:
            best = min(best, time.perf_counter() - started)
    return best / len(batches)


class LookupsDone:
    """Stands in for a model's preprocessor when a batch already holds indices."""

    def __init__(self, preprocessor):
        self.preprocessor = preprocessor

    def __call__(self, inputs):
        return inputs

    def lookup(self, name, raw):
        return raw if raw.dtype == tf.int32 else self.preprocessor.lookup(name, raw)


def with_indices(preprocessor, batch):
    """``batch`` with every raw feature replaced by its indices."""
    if isinstance(batch, dict):
        return {**batch, **preprocessor(batch)}
    return (with_indices(preprocessor, batch[0]), *batch[1:])


def schedule(name: str, epochs: int) -> int:
    """``epochs`` of the model's last phase, after the epochs of its earlier phases
    (pre-training, fine-tuning sources) at their defaults."""
    config = MODELS.get(name).config_cls()
    return epochs + sum(getattr(config, field, 0) for field in EARLIER_PHASES)


def train_rate(name: str, data: experiment.DataConfig, out: Path, epochs: int) -> tuple:
    """Examples/s through ``tfxdr train`` of the fastest epoch of the model's last
    phase but its first (which traces), and the run."""
    timer = EpochTimer()
    run_dir = out / name
    experiment.train(name, data, run_dir, epochs=schedule(name, epochs), overwrite=True,
                     verbose=0, callbacks=[timer])
    run = experiment.load_run(run_dir)
    phases = run.model.training_phases(run.config.epochs)
    first = phases[-2].last_epoch if len(phases) > 1 else 0
    examples = run.task.num_train_examples(run.prepared, phases[-1].domains)
    return max(examples / timer.seconds[e] for e in timer.seconds if e > first), run


def input_rate(run) -> float:
    """Examples/s of the last phase's training dataset alone: one epoch of batches
    made and dropped (the work ``fit`` does beside the step, on the same cores)."""
    config, task, prepared = run.config, run.task, run.prepared
    phase = run.model.training_phases(config.epochs)[-1]
    dataset = task.train_dataset(prepared, config.batch_size, 1, phase.domains)
    started = time.perf_counter()
    for _ in dataset:
        pass
    return task.num_train_examples(prepared, phase.domains) / (time.perf_counter() - started)


def commonest_shape(batches: list) -> list:
    """The batches whose inputs have the shapes most of them share: XLA compiles a
    step once per input shape (minutes for a transformer's), and batches of
    sequences differ in length."""
    groups: dict[tuple, list] = {}
    for batch in batches:
        shapes = tuple(tuple(t.shape) for t in tf.nest.flatten(batch, expand_composites=True))
        groups.setdefault(shapes, []).append(batch)
    return max(groups.values(), key=len)


def held_step(run, steps: int) -> tuple:
    """A fresh model of ``run``'s config in its last phase, built by a step on the
    phase's first training batch, the next ``steps`` batches held in memory, and
    the examples per batch; ``None`` when the phase has a single batch."""
    config, task, prepared = run.config, run.task, run.prepared
    phase = run.model.training_phases(config.epochs)[-1]
    dataset = task.train_dataset(prepared, config.batch_size, 0, phase.domains)
    per_batch = task.num_train_examples(prepared, phase.domains) / int(dataset.cardinality())
    batches = list(dataset.take(steps + 1))
    if len(batches) < 2:
        return None
    model = MODELS.get(run.saved["model"]).create(config, run.spec, run.saved["seed"])
    model.start_phase(phase)
    # builds the model and its optimizers' variables
    model.train_on_batch(*keras.utils.unpack_x_y_sample_weight(batches[0]))
    return model, batches[1:], per_batch


def bare_rates(run, steps: int, xla: bool) -> dict:
    """Examples/s of the bare step of the model's last phase in graph mode (and XLA
    after the lookups), and its FLOPs per example."""
    held = held_step(run, steps)
    if held is None:
        return {}
    model, batches, per_batch = held
    out = {"flops_per_example": step_flops(model, batches[0]) / per_batch}
    # as fit traces it: batches of sequences differ in length
    out["graph"] = per_batch / timed_passes(
        tf.function(model.train_step, reduce_retracing=True), batches)
    if xla and model.spec is not None:
        indexed = commonest_shape([with_indices(model.preprocessor, batch) for batch in batches])
        object.__setattr__(model, "preprocessor", LookupsDone(model.preprocessor))
        try:
            out["indexed"] = per_batch / timed_passes(
                tf.function(model.train_step, reduce_retracing=True), indexed)
            out["xla"] = per_batch / timed_passes(
                tf.function(model.train_step, reduce_retracing=True, jit_compile=True), indexed)
        except (tf.errors.OpError, ValueError, TypeError, KeyError) as error:
            out["xla_error"] = str(error).strip().splitlines()[0][:200]
    return out


def rate(value) -> str:
    return f"{value:,.0f}" if value else "-"


def row_text(name: str, task: str, trained, bare: dict, peak: float, bound) -> str:
    """One markdown row of the table (``-`` where a model has no such number)."""
    graph = bare.get("graph")
    cells = [name, task, rate(trained), rate(graph),
             f"{trained / graph:.2f}" if graph else "-", rate(bare.get("input")),
             f"{bare['flops_per_example'] / 1e6:,.2f}" if bound else "-", rate(peak), rate(bound),
             f"{bound / graph:.2f}" if bound else "-", rate(bare.get("indexed")),
             "fails" if "xla_error" in bare else rate(bare.get("xla"))]
    return "| " + " | ".join(cells) + " |"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--models", default=",".join(MODELS.names()))
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--no-xla", dest="xla", action="store_false")
    args = parser.parse_args(argv)
    unknown = [name for name in args.models.split(",") if name not in MODELS.names()]
    if unknown:
        parser.error(f"--models: unknown model {unknown[0]!r}; expected some of "
                     f"{', '.join(MODELS.names())}")
    out = args.out or Path(tempfile.mkdtemp(prefix="throughput-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"dataset {args.dataset}, {args.epochs} epochs, {args.steps} bare steps\n")
    print("| model | task | tfxdr train ex/s | bare step ex/s | train / bare | "
          "input pipeline alone ex/s | MFLOP per example | matmul GFLOP/s | "
          "FLOP-bound ex/s | bare / bound, time | after lookups: graph ex/s | XLA ex/s |\n"
          + "|---" * 12 + "|", flush=True)
    rows = []
    for name in args.models.split(","):
        spec = MODELS.get(name)
        data = experiment.DataConfig(dataset=args.dataset, **DEVELOPMENT[spec.task])
        trained, run = train_rate(name, data, out, args.epochs)
        peak = matmul_peak()  # next to the bare step: the machine's load drifts
        bare = {**bare_rates(run, args.steps, args.xla), "input": input_rate(run)}
        flops = bare.get("flops_per_example")
        bound = peak * 1e9 / flops if flops else None
        rows.append({"model": name, "task": spec.task, "train": trained, **bare,
                     "matmul_gflops": peak, "bound": bound})
        print(row_text(name, spec.task, trained, bare, peak, bound), flush=True)
        if "xla_error" in bare:
            print(f"{name}: XLA fails: {bare['xla_error']}", file=sys.stderr, flush=True)
        # after every model: a long run stopped part-way keeps what it measured
        (out / "throughput.json").write_text(json.dumps(
            {"dataset": args.dataset, "epochs": args.epochs, "steps": args.steps,
             "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
