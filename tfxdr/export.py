"""SavedModel export with explicit, named serving signatures.

``model.export`` on a subclassed model would derive its signature from the
training inputs; here every signature is written out: raw item ids in (the
run's saved vocabularies map them to indices inside the graph), raw item ids
and scores out.  Only the inference path is traced, so dropout, latent noise
and discriminators are not in the serving graph.

A run is exported to ``RUN_DIR/export/<version>/`` with an integer version, the
layout TF Serving watches; the directory appears only once it is complete.
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


def padding_value(dtype: tf.DType):
    """The value that pads a request's id list: -1 for int64 ids, "" for strings."""
    return -1 if dtype == tf.int64 else ""


def _keys(vocabulary: Vocabulary, dtype: tf.DType) -> tf.Tensor:
    if dtype == tf.int64:
        return tf.constant(np.array([int(i) for i in vocabulary.ids], dtype=np.int64))
    return tf.constant(vocabulary.ids, dtype=tf.string)


class ClickTranslationServing(tf.Module):
    """Serving module of a click-translation model: ``a_to_b`` and ``b_to_a``.

    Each signature takes ``item_ids`` [batch, None] (the user's clicked items in
    the source domain, raw ids, padded; any other rank is rejected at run time) and returns ``scores`` [batch, I_target]
    in the order of ``target_item_ids``, and ``top_k_ids`` / ``top_k_scores``.
    Unknown and padding ids are ignored.  A target item whose raw id is in the
    request (an item listed in both domains) is never recommended back.
    """

    def __init__(self, model, vocab_a: Vocabulary, vocab_b: Vocabulary, top_k: int):
        super().__init__()
        self.model = model
        self.dtype = id_dtype(vocab_a, vocab_b)
        self.ids = {"a": _keys(vocab_a, self.dtype), "b": _keys(vocab_b, self.dtype)}
        self.tables = {d: tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, tf.range(tf.size(keys, tf.int64)),
                                                key_dtype=self.dtype, value_dtype=tf.int64),
            default_value=-1) for d, keys in self.ids.items()}
        self.sizes = {"a": len(vocab_a), "b": len(vocab_b)}
        self.top_k = {d: min(top_k, n) for d, n in self.sizes.items()}
        spec = tf.TensorSpec(None, self.dtype, name="item_ids")
        self.a_to_b = tf.function(lambda item_ids: self._translate(item_ids, "a", "b"),
                                  input_signature=[spec])
        self.b_to_a = tf.function(lambda item_ids: self._translate(item_ids, "b", "a"),
                                  input_signature=[spec])

    def _multi_hot(self, item_ids, domain: str) -> tuple[tf.Tensor, tf.Tensor]:
        index = self.tables[domain].lookup(item_ids)
        known = tf.where(index >= 0)
        coordinates = tf.stack([known[:, 0], tf.gather_nd(index, known)], axis=1)
        shape = tf.stack([tf.shape(item_ids, out_type=tf.int64)[0],
                          tf.constant(self.sizes[domain], tf.int64)])
        dense = tf.scatter_nd(coordinates, tf.ones(tf.shape(known)[:1]), shape)
        return tf.minimum(dense, 1.0), shape

    def _translate(self, item_ids, source: str, target: str) -> dict[str, tf.Tensor]:
        # Signature calls do not check shapes against their TensorSpec, and checks
        # of a statically known rank are folded away: the spec leaves the rank
        # open and this run-time check rejects other ranks, naming the input.
        item_ids = tf.ensure_shape(item_ids, [None, None])
        x_source, _ = self._multi_hot(item_ids, source)
        direction = f"{source}_to_{target}"
        scores = tf.cast(self.model.cross_domain_scores(x_source, direction), tf.float32)
        in_request, _ = self._multi_hot(item_ids, target)
        scores = tf.where(in_request > 0, tf.constant(-np.inf, tf.float32), scores)
        top = tf.math.top_k(scores, k=self.top_k[target])
        return {
            "scores": scores,
            "top_k_ids": tf.gather(self.ids[target], top.indices),
            "top_k_scores": top.values,
        }


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
