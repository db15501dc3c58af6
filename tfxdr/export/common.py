"""What every serving module shares: the model held apart, typed inputs, the versioned save.

A run is exported to ``BASE/<version>/`` with an integer version, the layout TF
Serving watches: BASE is ``RUN_DIR/export`` or a serving root's ``DIR/NAME``
(``tfxdr export RUN --base-path DIR --name NAME``); the version directory
appears only once it is complete.

Signature inputs leave their rank open and check it at run time with
``tf.ensure_shape``: a signature call does not check shapes against its
TensorSpec, and a check of a statically known rank is folded away, so a
declared shape would let a wrong-rank request broadcast silently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfxdr.errors import RunDirError
from tfxdr.features import Feature
from tfxdr.io import atomic_directory
from tfxdr.rundir import run_lock

EXPORT_DIR = "export"
ASSETS_EXTRA = "assets.extra"


def raw_dtype(feature: Feature) -> tf.DType:
    """How a request carries a feature's raw values."""
    return tf.int64 if feature.dtype == "int64" else tf.string


def raw_values(feature: Feature) -> tf.Tensor:
    """The feature's known raw values in index order, as a constant of its request dtype."""
    if feature.dtype == "int64":
        return tf.constant(np.array([int(v) for v in feature.vocabulary], dtype=np.int64))
    return tf.constant(list(feature.vocabulary), dtype=tf.string)


class ServingModule(tf.Module):
    """A module that holds a Keras model without saving all of it.

    The model is reached through a closure, which the SavedModel does not track;
    :meth:`keep_variables_of` then tracks exactly the variables the serving
    functions read, and the model's preprocessing layer is tracked for its
    vocabulary tables.  The export so carries no optimizer state and none of the
    training-only networks (discriminators, domain classifiers).
    """

    def __init__(self, model):
        super().__init__()
        self._get_model = lambda: model
        self.preprocessor = model.preprocessor

    @property
    def model(self):
        return self._get_model()

    def write_assets_extra(self, directory: Path) -> None:
        """Files the export carries beside the graph, in ``assets.extra`` (which TF
        Serving leaves alone); default: none."""

    def keep_variables_of(self, *functions) -> None:
        used = {}
        for function in functions:
            for variable in function.get_concrete_function().variables:
                used[id(variable)] = variable
        self.serving_variables = list(used.values())


def checked(name: str, value, rank: int, rows=None, rows_of: str = ""):
    """``value`` once its rank is ``rank`` and, with ``rows``, its first dimension is
    ``rows``, the rows of input ``rows_of`` (the checks run before anything reads
    the value)."""
    value = tf.ensure_shape(value, [None] * rank)
    if rows is None:
        return value
    with tf.control_dependencies([tf.debugging.assert_equal(
            tf.shape(value)[0], rows, message=f"{name}: expected one row per {rows_of}")]):
        return tf.identity(value)


def next_version(base_dir: Path) -> int:
    """1 + the largest integer version under a model's base path (1 for the first)."""
    versions = [int(p.name) for p in Path(base_dir).glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def save_module(module: tf.Module, signatures: dict, base_dir: Path,
                version: int | None = None, warmup: list | None = None) -> Path:
    """Writes ``module`` to ``BASE_DIR/<version>`` atomically, the layout TF Serving
    polls (``--model_base_path``); returns that path.

    The base path is locked while the version is chosen and written, so two
    exports to one base path get two versions; the version appears whole, in one
    rename, and never replaces one already there.

    ``warmup`` requests (:mod:`tfxdr.export.warmup`) are written to
    ``assets.extra`` and replayed on the written SavedModel before it is put in
    place: a version TF Serving would refuse to load is never published.

    Raises:
        RunDirError: ``version`` is already exported, another process is
            exporting to the base path, or a warmup request fails.
    """
    base_dir = Path(base_dir)
    with run_lock(base_dir):
        version = next_version(base_dir) if version is None else version
        target = base_dir / str(version)
        if target.exists():
            raise RunDirError(f"{target}: version {version} is already exported",
                              field="version")
        with atomic_directory(target) as scratch:
            tf.saved_model.save(module, str(scratch), signatures=signatures)
            if isinstance(module, ServingModule):
                module.write_assets_extra(Path(scratch) / ASSETS_EXTRA)
            if warmup:
                from tfxdr.export.warmup import WARMUP_FILE, replay_warmup, write_warmup

                (Path(scratch) / ASSETS_EXTRA).mkdir(exist_ok=True)
                write_warmup(Path(scratch) / ASSETS_EXTRA / WARMUP_FILE, warmup)
                replay_warmup(scratch, shown_as=target)
    return target
