"""What every serving module shares: raw-id lookups and the versioned, atomic save.

A run is exported to ``RUN_DIR/export/<version>/`` with an integer version, the
layout TF Serving watches; the directory appears only once it is complete.

Signature inputs leave their rank open and check it at run time with
``tf.ensure_shape``: a signature call does not check shapes against its
TensorSpec, and a check of a statically known rank is folded away, so a
declared shape would let a wrong-rank request broadcast silently.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfxdr.data.vocab import Vocabulary
from tfxdr.errors import RunDirError

EXPORT_DIR = "export"


def id_dtype(*vocabularies: Vocabulary) -> tf.DType:
    """int64 when every raw id is an integer, else string."""
    for vocabulary in vocabularies:
        for raw in vocabulary.ids:
            try:
                int(raw)
            except ValueError:
                return tf.string
    return tf.int64


def raw_ids(vocabulary: Vocabulary, dtype: tf.DType) -> tf.Tensor:
    """The vocabulary's raw ids as a constant of the serving dtype."""
    if dtype == tf.int64:
        return tf.constant(np.array([int(i) for i in vocabulary.ids], dtype=np.int64))
    return tf.constant(vocabulary.ids, dtype=tf.string)


def lookup_table(keys: tf.Tensor, values: tf.Tensor, default: int) -> tf.lookup.StaticHashTable:
    """raw id -> int64 value, ``default`` for unknown ids (and padding)."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, tf.cast(values, tf.int64),
                                            key_dtype=keys.dtype, value_dtype=tf.int64),
        default_value=default)


class ServingModule(tf.Module):
    """A module that holds a Keras model without saving all of it.

    The model is reached through a closure, which the SavedModel does not track;
    :meth:`keep_variables_of` then tracks exactly the variables the serving
    functions read.  The export so carries no optimizer state and none of the
    training-only networks (discriminators, domain classifiers).
    """

    def __init__(self, model):
        super().__init__()
        self._get_model = lambda: model

    @property
    def model(self):
        return self._get_model()

    def keep_variables_of(self, *functions) -> None:
        used = {}
        for function in functions:
            for variable in function.get_concrete_function().variables:
                used[id(variable)] = variable
        self.serving_variables = list(used.values())


def next_version(run_dir: Path) -> int:
    """1 + the largest integer version already exported (1 for the first)."""
    root = Path(run_dir) / EXPORT_DIR
    versions = [int(p.name) for p in root.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def save_module(module: tf.Module, signatures: dict, run_dir: Path,
                version: int | None = None) -> Path:
    """Writes ``module`` to ``RUN_DIR/export/<version>`` atomically; returns that path."""
    version = next_version(run_dir) if version is None else version
    target = Path(run_dir) / EXPORT_DIR / str(version)
    if target.exists():
        raise RunDirError(f"{target}: version {version} is already exported")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{version}.partial-", dir=target.parent))
    try:
        tf.saved_model.save(module, str(scratch / "model"), signatures=signatures)
        os.replace(scratch / "model", target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
