"""Which versions of a model a server loads, and which one a request reaches.

TF Serving watches a base path for integer-named version directories (other
names, such as the hidden scratch directories of an export in progress, are
ignored), loads those its version policy selects (the latest by default), and
routes a request by its explicit version, its label or else to the latest
loaded version; the answers below are TF Serving's own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

from tfxdr.export.warmup import error_line
from tfxdr_serving.protocol import ServingError


def versions_on_disk(base_path: str | Path) -> list[int]:
    """The integer versions under a base path, ascending."""
    base = Path(base_path)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


def versions_to_serve(on_disk: Sequence[int], specific: Sequence[int] = (),
                      latest: int = 1) -> list[int]:
    """The versions a policy loads: ``specific`` ones that are on disk, or else the
    ``latest`` newest."""
    if specific:
        return sorted(set(specific) & set(on_disk))
    return sorted(on_disk)[-latest:] if latest > 0 else []


def resolve(name: str, available: Sequence[int], labels: Mapping[str, int],
            version: int | None = None, label: str | None = None) -> int:
    """The loaded version a request for ``name`` reaches.

    Raises:
        ServingError: INVALID_ARGUMENT for a version and a label together or an
            unknown label; UNAVAILABLE for a label on a version not loaded;
            NOT_FOUND for a version not loaded or a model with none.
    """
    if version is not None and label is not None:
        raise ServingError("INVALID_ARGUMENT", "a request names a version or a label, not both")
    if label is not None:
        if label not in labels:
            raise ServingError("INVALID_ARGUMENT", f"Unrecognized servable version label: {label}")
        version = labels[label]
        if version not in available:
            raise ServingError("UNAVAILABLE", f"label {label} of model {name} points at version "
                               f"{version}, which is not loaded")
        return version
    if version is not None:
        if version not in available:
            raise ServingError("NOT_FOUND",
                               f"Servable not found for request: Specific({name}, {version})")
        return version
    if not available:
        raise ServingError("NOT_FOUND", f"Servable not found for request: Latest({name})")
    return max(available)


class ServedVersion:
    """One version of a model, run as TF Serving runs it: a session over the
    SavedModel's graph, fed and fetched by the tensor names of its signatures.

    Inputs are checked against each signature before the graph runs (TF
    Serving's session would cast a float to an int64 input without a word), and
    a graph error names the input by its alias, not its placeholder.
    """

    def __init__(self, path: str | Path, intra_op_threads: int = 0, inter_op_threads: int = 0):
        import tensorflow as tf

        self.path = Path(path)
        self.graph = tf.Graph()
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=intra_op_threads,
                                          inter_op_parallelism_threads=inter_op_threads)
        self.session = tf.compat.v1.Session(graph=self.graph, config=config)
        with self.graph.as_default():
            meta = tf.compat.v1.saved_model.loader.load(self.session, ["serve"], str(path))
        self.signatures = {key: value for key, value in meta.signature_def.items()
                           if not key.startswith("__")}

    def predict(self, signature_name: str | None, inputs: Mapping) -> dict:
        """``{output alias: array}`` of one signature on ``inputs`` ({alias: array}).

        Raises:
            ServingError: FAILED_PRECONDITION for an unknown signature;
                INVALID_ARGUMENT for missing, extra or mistyped inputs, or a graph
                error caused by the request (naming the input).
        """
        import numpy as np
        import tensorflow as tf

        name = signature_name or "serving_default"
        if name not in self.signatures:
            raise ServingError("FAILED_PRECONDITION", f'Serving signature key "{name}" not found.')
        signature = self.signatures[name]
        expected, sent = set(signature.inputs), set(inputs)
        if sent != expected:
            raise ServingError("INVALID_ARGUMENT", (
                f"input size does not match signature: {len(sent)}!={len(expected)} "
                f"len({{{', '.join(sorted(sent))}}}) != len({{{', '.join(sorted(expected))}}}). "
                f"Sent extra: {{{', '.join(sorted(sent - expected))}}}. "
                f"Missing but required: {{{', '.join(sorted(expected - sent))}}}."))
        feeds = {}
        for alias, info in signature.inputs.items():
            dtype = tf.as_dtype(info.dtype)
            value = np.asarray(inputs[alias])
            feeds[info.name] = _typed(alias, value, dtype)
        fetches = {alias: info.name for alias, info in signature.outputs.items()}
        try:
            return self.session.run(fetches, feeds)
        except tf.errors.OpError as error:
            message = error.message
            for alias, info in signature.inputs.items():  # placeholder -> the input's name
                message = re.sub(rf"_arg_{re.escape(info.name.split(':')[0])}_\d+_\d+", alias,
                                 message)
            code = "INVALID_ARGUMENT" if isinstance(error, tf.errors.InvalidArgumentError) \
                else "INTERNAL"
            raise ServingError(code, error_line(message) or message.strip()) from None

    def close(self) -> None:
        self.session.close()


def _typed(alias: str, value, dtype):
    """``value`` as ``dtype`` takes it, refusing what would be silently converted."""
    import numpy as np

    kind = value.dtype.kind
    if dtype.name == "string":
        if value.size and kind not in "OSU":
            raise ServingError("INVALID_ARGUMENT", f"input {alias}: expected strings, got "
                               f"{value.dtype}")
        return np.vectorize(lambda v: v if isinstance(v, bytes) else str(v).encode(),
                            otypes=[object])(value) if value.size else value.astype(object)
    if dtype.is_integer and value.size and kind not in "iu":
        raise ServingError("INVALID_ARGUMENT", f"input {alias}: expected {dtype.name}, got "
                           f"{value.dtype}")
    if dtype.is_floating and value.size and kind not in "iuf":
        raise ServingError("INVALID_ARGUMENT", f"input {alias}: expected {dtype.name}, got "
                           f"{value.dtype}")
    return value.astype(dtype.as_numpy_dtype)

