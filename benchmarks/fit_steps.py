"""Inside ``fit``: how often a model's step is traced, and each epoch's first and
typical step, through ``tfxdr train``.

    python benchmarks/fit_steps.py MODEL [--dataset ml-1m] [--domains A,B] [--epochs 3]
        [--out runs/fit_steps]

The model's ``train_step`` is wrapped so that each run of its Python body, which
happens once per trace, is counted; a callback times every batch.  Per epoch it
prints the steps, the traces made during it, the first step (which waits for the
input pipeline to start, and in the first epoch for the trace), the median of the
others, and the epoch's seconds.  The domains default to the task's development
domains (``throughput.DEVELOPMENT``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from throughput import DEVELOPMENT  # noqa: E402
from tfxdr import experiment  # noqa: E402
from tfxdr.cli import _at_least, explain  # noqa: E402
from tfxdr.errors import TfxdrError  # noqa: E402
from tfxdr.registry import MODELS  # noqa: E402


class StepTimes(keras.callbacks.Callback):
    """Counts the step's traces and times every batch of every epoch."""

    def __init__(self):
        super().__init__()
        self.traces, self.epochs, self._wrapped = 0, [], False

    def on_train_begin(self, logs=None):
        if self._wrapped:  # one wrap per run: fit is called once per epoch
            return
        step = self.model.train_step

        def counted(data):
            self.traces += 1
            return step(data)

        self.model.train_step = counted
        self.model.make_train_function(force=True)
        self._wrapped = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append({"traces_before": self.traces, "times": [time.perf_counter()]})

    def on_train_batch_end(self, batch, logs=None):
        self.epochs[-1]["times"].append(time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        self.epochs[-1]["traces"] = self.traces - self.epochs[-1].pop("traces_before")


def rows(epochs: list) -> list[str]:
    """One markdown row per epoch of :class:`StepTimes`'s records."""
    out = []
    for number, epoch in enumerate(epochs, start=1):
        steps = np.diff(epoch["times"])
        rest = steps[1:] if len(steps) > 1 else steps
        out.append(f"| {number} | {len(steps)} | {epoch['traces']} | {steps[0] * 1e3:.1f} | "
                   f"{np.median(rest) * 1e3:.1f} | {epoch['times'][-1] - epoch['times'][0]:.2f} |")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=MODELS.names())
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--domains", default=None)
    parser.add_argument("--epochs", type=_at_least(1), default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/fit_steps"))
    args = parser.parse_args(argv)
    development = dict(DEVELOPMENT[MODELS.get(args.model).task])
    if args.domains:
        development["domains"] = tuple(args.domains.split(","))
    timer = StepTimes()
    try:
        experiment.train(args.model, experiment.DataConfig(dataset=args.dataset, **development),
                         args.out / args.model, epochs=args.epochs, overwrite=True, verbose=0,
                         callbacks=[timer])
    except TfxdrError as error:  # a dataset or domain that is not there, a bad run dir
        print(f"fit_steps.py: error: {explain(error)}", file=sys.stderr)
        return 2
    print(f"{args.model} on {args.dataset} ({', '.join(development['domains'])})\n")
    print("| epoch | steps | traces | first step ms | median step ms | epoch s |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows(timer.epochs)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
