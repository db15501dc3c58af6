"""TF Serving's warmup file: real requests a server runs before a version serves.

TF Serving reads ``<version>/assets.extra/tf_serving_warmup_requests``, an
uncompressed TFRecord of ``tensorflow.serving.PredictionLog`` (at most 1000
records), and runs each request when it loads the version, so that the first
user request does not pay for initialising the graph.  A record that fails
keeps the version from loading, so an export replays its own file before the
version is published.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import tensorflow as tf

from tfxdr.errors import RunDirError

WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000  # TF Serving refuses a longer file

#: (signature name, {input name: array}) - one request of one signature.
Request = tuple[str, dict[str, np.ndarray]]


def raw_ids(rows: np.ndarray, dtype: tf.DType) -> np.ndarray:
    """Raw ids (strings, "" for padding) as an input of ``dtype`` takes them: int64
    with -1 for padding, or the strings as bytes."""
    rows = np.asarray(rows)
    if dtype == tf.int64:
        return np.where(rows == "", "-1", rows).astype(np.int64)
    return rows.astype(str).astype(object)


def write_warmup(path: Path, requests: Sequence[Request]) -> None:
    """Writes ``requests`` to ``path`` as PredictionLog records."""
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    if not 0 < len(requests) <= MAX_RECORDS:
        raise ValueError(f"{len(requests)} warmup requests: expected 1 to {MAX_RECORDS}")
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs in requests:
            request = predict_pb2.PredictRequest()
            request.model_spec.signature_name = signature
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def read_warmup(path: Path) -> list[Request]:
    """The requests of a warmup file, in order."""
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
        requests.append((request.model_spec.signature_name or "serving_default",
                         {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}))
    return requests


def replay_warmup(saved_model_dir: Path, shown_as: Path | None = None) -> int:
    """Runs every warmup request of a SavedModel as TF Serving would at load; returns
    how many ran.

    Raises:
        RunDirError: a request names no signature of the model, or fails; naming
            the record and the signature (and the file as under ``shown_as``, the
            directory the SavedModel is being written to).
    """
    path = Path(saved_model_dir) / "assets.extra" / WARMUP_FILE
    named = Path(shown_as or saved_model_dir) / "assets.extra" / WARMUP_FILE
    served = tf.saved_model.load(str(saved_model_dir))
    requests = read_warmup(path)
    if len(requests) > MAX_RECORDS:
        raise RunDirError(f"{named}: {len(requests)} records; TF Serving reads at most "
                          f"{MAX_RECORDS}")
    for number, (signature, inputs) in enumerate(requests, 1):
        if signature not in served.signatures:
            raise RunDirError(f"{named}: record {number} calls signature {signature!r}, which "
                              f"the model does not have")
        try:
            served.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        except (tf.errors.OpError, TypeError, ValueError) as error:
            raise RunDirError(f"{named}: record {number} ({signature}) fails: "
                              f"{reason(error)[:200]}") from None
    return len(requests)


def reason(error: Exception) -> str:
    """The line of an error that says what was wrong."""
    text = error.message if isinstance(error, tf.errors.OpError) else str(error)
    return error_line(text) or type(error).__name__


def error_line(text: str) -> str:
    """The line of a TensorFlow error message that says what was wrong: a graph
    error's comes after "Graph execution error:" and where the op was defined."""
    lines = [line.strip() for line in text.splitlines()]
    useful = [line for line in lines if line and not line.startswith(
        ("Graph execution error", "Detected at node", "File ", "[[", "<stack traces"))]
    return useful[0] if useful else ""
