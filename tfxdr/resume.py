"""Training state that continues exactly where it stopped: one file, written atomically.

A resume file holds, in a fixed order, every variable the continuation reads:
the model's weights and the states of its random-seed generators (dropout,
sampling noise), its loss trackers (a run stopped mid-epoch resumes its
running means), and the variables of every optimizer (moments and step
counters of both players); beside them, a JSON record of the loop's own
counters and the selection state.  Keras weight files cover neither seed
generators nor trackers, hence a file of its own.

At catalogue scale the file is large (at 70k items, Multi-VAE's weights and
both Adam moments are 1 GB, about 10 s to write and sync, against a 15 s
epoch), so :func:`checkpoint_due` bounds the share of time spent writing it.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import keras
import numpy as np

from tfxdr.errors import RunDirError
from tfxdr.io import atomic_file

_STATE_KEY = "state_json"
# A checkpoint that took less than this is written at every epoch's end.
CHEAP_CHECKPOINT_SECONDS = 1.0
# The default bound on checkpoint seconds per second of training and validation.
CHECKPOINT_OVERHEAD = 0.1


def training_variables(model) -> list:
    """The model's variables (seed states included), its trackers', then every optimizer's."""
    groups = [model.variables, [v for m in model.metrics for v in m.variables]]
    groups += [optimizer.variables for optimizer in model.all_optimizers()]
    seen, variables = set(), []
    for group in groups:
        for variable in group:
            if id(variable) not in seen:
                seen.add(id(variable))
                variables.append(variable)
    return variables


def checkpoint_due(seconds_since: float, last_seconds: float | None,
                   overhead: float | None = CHECKPOINT_OVERHEAD) -> bool:
    """Whether an epoch's end writes the resume checkpoint.

    Always while checkpoints are cheap (the last took under
    ``CHEAP_CHECKPOINT_SECONDS``, or none was written yet by this process);
    otherwise once ``seconds_since`` the last one ended is at least
    ``last_seconds / overhead``, so writing them takes at most ``overhead`` of
    the time.  ``overhead=None`` writes one at every epoch's end.  A stopped run
    loses at most the epochs since its last checkpoint; a signal, the last epoch
    and early stopping always write one.
    """
    if overhead is None or last_seconds is None or last_seconds < CHEAP_CHECKPOINT_SECONDS:
        return True
    return seconds_since * overhead >= last_seconds


def save_training_state(model, path: Path, state: dict) -> None:
    """Writes every training variable and ``state`` (JSON-able) to ``path`` in one rename."""
    variables = training_variables(model)
    arrays = {f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(variables)}
    record = {**state, "variables": [v.path for v in variables]}
    arrays[_STATE_KEY] = np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)
    with atomic_file(Path(path)) as scratch:
        with open(scratch, "wb") as handle:
            np.savez(handle, **arrays)  # straight to the file: no second copy in memory
            handle.flush()
            os.fsync(handle.fileno())


def load_training_state(model, path: Path) -> dict:
    """Restores what :func:`save_training_state` wrote; returns its ``state``.

    Raises:
        RunDirError: the file is unreadable or was written by a different model.
    """
    path = Path(path)
    variables = training_variables(model)
    arrays, record = _read(path)
    # Keras numbers default layer names per process, so paths are not compared.
    names = record.pop("variables")
    if len(names) != len(variables):
        raise RunDirError(f"{path}: holds the variables of a different model "
                          f"({len(names)} saved, {len(variables)} expected); pass --restart")
    for i, variable in enumerate(variables):
        value = arrays[f"v{i}"]
        if tuple(value.shape) != tuple(variable.shape):
            raise RunDirError(f"{path}: variable {names[i]} has shape {value.shape}, "
                              f"expected {tuple(variable.shape)}; pass --restart")
        variable.assign(value)
    return record


def read_progress(path: Path) -> str:
    """Where a resume file continues: "from epoch 3" or "from epoch 3, step 40".

    Raises:
        RunDirError: the file is unreadable.
    """
    progress = _read(Path(path))[1]["progress"]
    where = f"from epoch {progress['epoch'] + 1}"
    return where + (f", step {progress['step'] + 1}" if progress["step"] else "")


def _read(path: Path) -> tuple[dict, dict]:
    try:
        with np.load(path) as stored:
            arrays = {key: stored[key] for key in stored.files}
        record = json.loads(arrays.pop(_STATE_KEY).tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise RunDirError(f"{path}: not a readable resume file ({error}); pass --restart to "
                          "train from the beginning") from None
    return arrays, record
