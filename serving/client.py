"""A client for TF Serving's gRPC and REST APIs (and tfxdr-model-server's).

    client = ServingClient("localhost:8500", "clicks")          # gRPC
    client = ServingClient("http://localhost:8501", "clicks")   # REST
    client.predict({"item_ids": [[3, 7], [5]]}, label="stable")

Histories may be ragged: each row is padded on the left with -1 (or "" for
string ids), one column more than the longest row, so that element [0, 0] is
always padding (TF Serving's batching pads with a batch's first element).

Every call has one deadline (``timeout_s``) that covers its retries.  A server
that is UNAVAILABLE (starting, loading a labelled version, a refused
connection) is retried with exponential backoff and jitter while the deadline
allows; every other error is raised at once as a :class:`RequestError` naming
the model, the version or label, the signature and, where the server's message
shows it, the input.  The REST transport imports no TensorFlow; ``as_frame`` turns
an answer into a pandas DataFrame.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlsplit

import numpy as np

from tfxdr_serving.protocol import HTTP_STATUS, ServingError

#: numpy dtype of each TF Serving dtype a tfxdr signature uses.
NUMPY_DTYPES = {"DT_INT64": np.int64, "DT_INT32": np.int32, "DT_FLOAT": np.float32,
                "DT_DOUBLE": np.float64, "DT_STRING": object, "DT_BOOL": np.bool_}


class RequestError(ServingError):
    """A request the server (or the client, before sending it) refused.

    Attributes:
        code: the gRPC status name (``INVALID_ARGUMENT``, ``NOT_FOUND``, ...).
        model, version, label, signature: what the request was for.
        input: the input the error is about, when it can be told.
        message: the server's own message.
    """

    def __init__(self, code: str, message: str, model: str, version: int | None = None,
                 label: str | None = None, signature: str | None = None,
                 input: str | None = None):  # noqa: A002 - the request's word
        super().__init__(code, message)
        self.model, self.version, self.label = model, version, label
        self.signature, self.input = signature, input

    def __str__(self) -> str:
        where = f"model {self.model}"
        if self.version is not None:
            where += f" version {self.version}"
        if self.label is not None:
            where += f" label {self.label}"
        if self.signature:
            where += f", signature {self.signature}"
        if self.input:
            where += f", input {self.input}"
        return f"{where}: {self.code}: {self.message}"


@dataclass(frozen=True)
class Signature:
    """A signature's inputs and outputs, each ``{alias: TF dtype name}``."""

    inputs: dict[str, str]
    outputs: dict[str, str]


class _Unavailable(Exception):
    """The server could not take the request now; worth another try."""


def input_named(message: str, candidates: Sequence[str]) -> str | None:
    """The input a server's error message is about: one named in TF Serving's own
    phrasings (a missing or extra input), else the candidate that appears first
    in it, alone or inside a placeholder name (``_arg_serving_default_item_ids_0_0``)."""
    for pattern in (r"Missing named input: (\w+)", r"Missing but required: \{(\w+)",
                    r"Sent extra: \{(\w+)"):
        found = re.search(pattern, message)
        if found:
            return found[1]
    places = {}
    for name in candidates:
        found = re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", message)
        if found:
            places[name] = found.start()
    return min(places, key=lambda name: (places[name], -len(name))) if places else None


def padded(rows: Sequence[Sequence]) -> np.ndarray:
    """Ragged rows of ids as one array, padded on the left with -1 (or "" when the
    ids are strings) to one column more than the longest row."""
    strings = any(isinstance(v, (str, bytes)) for row in rows for v in row)
    pad = "" if strings else -1
    width = 1 + max((len(row) for row in rows), default=0)
    out = np.full((len(rows), width), pad, dtype=object if strings else np.int64)
    for number, row in enumerate(rows):
        if len(row):
            out[number, width - len(row):] = list(row)
    return out


def _as_array(value: Any) -> np.ndarray:
    """An input as an array; a list of rows of different lengths is padded."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(row, (list, tuple, np.ndarray)) for row in value):
        if len({len(row) for row in value}) > 1:
            return padded(value)
    array = np.asarray(value)
    return array.astype(object) if array.dtype.kind in "SU" else array


def _check_dtype(name: str, value: np.ndarray, dtype: str) -> str | None:
    """Why ``value`` cannot be the ``dtype`` input ``name``, or None."""
    kind = value.dtype.kind
    if not value.size:
        return None
    if dtype == "DT_STRING":
        sample = value.flat[0]
        ok = kind in "SU" or (kind == "O" and isinstance(sample, (str, bytes)))
    elif dtype in ("DT_INT64", "DT_INT32"):
        ok = kind in "iu"
    elif dtype in ("DT_FLOAT", "DT_DOUBLE"):
        ok = kind in "iuf"
    else:
        ok = True
    return None if ok else f"input {name}: expected {dtype}, got {value.dtype} values"


class ServingClient:
    """Predictions, metadata and status of one served model.

    Args:
        target: ``host:port`` of the gRPC API, or ``http://host:port`` of the REST API.
        model: the model's name in the server's config.
        timeout_s: the deadline of each call, retries included.
        retries: at most this many more attempts after an UNAVAILABLE answer.
        backoff_s, max_backoff_s: the first wait between attempts, doubled each
            time up to the most; each wait is scaled by a random 0.5-1 (jitter).
        validate: check input names and dtypes against the signature (fetched
            once per version or label) before sending a request.
        sleep: how to wait between attempts (``time.sleep``).

    A gRPC client may be shared by threads; a REST client holds one HTTP
    connection, so give each thread its own.
    """

    def __init__(self, target: str, model: str, timeout_s: float = 5.0, retries: int = 3,
                 backoff_s: float = 0.05, max_backoff_s: float = 2.0, validate: bool = True,
                 sleep: Callable[[float], None] = time.sleep):
        self.model, self.timeout_s, self.retries = model, timeout_s, retries
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.validate, self._sleep = validate, sleep
        self._transport = _Rest(target) if target.startswith(("http://", "https://")) \
            else _Grpc(target)
        self._signatures: dict[tuple, dict[str, Signature]] = {}

    @property
    def transport(self) -> str:
        return self._transport.name

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> ServingClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def predict(self, inputs: Mapping[str, Any], signature: str | None = None,
                version: int | None = None, label: str | None = None,
                outputs: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """``{output: array}`` of ``signature`` (``serving_default`` when None) on
        ``inputs`` ({input: array or rows}); strings come back as ``str``.

        Raises:
            RequestError: the request was refused, or the server stayed
                UNAVAILABLE until the deadline.
        """
        name = signature or "serving_default"
        arrays = {key: _as_array(value) for key, value in inputs.items()}
        error = dict(model=self.model, version=version, label=label, signature=name)
        try:
            if self.validate:
                self._validate(arrays, self.signatures(version, label), name, outputs, error)
            names = self._output_names(version, label, name)
            answer = self._call(lambda left: self._transport.predict(
                self.model, version, label, name, arrays, outputs, left, names), error)
        except RequestError as refused:
            refused.signature = name
            refused.input = refused.input or input_named(refused.message, list(arrays))
            raise
        if outputs:
            unknown = sorted(set(outputs) - set(answer))
            if unknown:
                raise RequestError("INVALID_ARGUMENT", "output tensor alias not found in "
                                   f"signature: {unknown[0]}", **error)
            answer = {key: answer[key] for key in outputs}
        return answer

    def signatures(self, version: int | None = None,
                   label: str | None = None) -> dict[str, Signature]:
        """The model's signatures (at a version or label), fetched once and kept."""
        key = (version, label)
        if key not in self._signatures:
            self._signatures[key] = self._call(
                lambda left: self._transport.metadata(self.model, version, label, left),
                dict(model=self.model, version=version, label=label))
        return self._signatures[key]

    def status(self, version: int | None = None) -> list[dict]:
        """TF Serving's model status: ``[{"version", "state", "error_code",
        "error_message"}]``, one entry per version it knows."""
        return self._call(lambda left: self._transport.status(self.model, version, left),
                          dict(model=self.model, version=version))

    def _output_names(self, version, label, signature) -> list[str] | None:
        """The signature's outputs, when known (REST drops the name of a single one)."""
        if self._transport.name != "rest":
            return None
        found = self.signatures(version, label).get(signature)
        return list(found.outputs) if found else None

    def _validate(self, arrays, signatures, name, outputs, error) -> None:
        if name not in signatures:
            raise RequestError("FAILED_PRECONDITION", f"the model has no signature {name}; "
                               f"it has {', '.join(sorted(signatures))}", **error)
        signature = signatures[name]
        for key in sorted(set(signature.inputs) - set(arrays)):
            raise RequestError("INVALID_ARGUMENT", f"missing input {key}: the signature takes "
                               f"{', '.join(sorted(signature.inputs))}", **error, input=key)
        for key in sorted(set(arrays) - set(signature.inputs)):
            raise RequestError("INVALID_ARGUMENT", f"unknown input {key}: the signature takes "
                               f"{', '.join(sorted(signature.inputs))}", **error, input=key)
        for key, value in arrays.items():
            why = _check_dtype(key, value, signature.inputs[key])
            if why:
                raise RequestError("INVALID_ARGUMENT", why, **error, input=key)
        for key in outputs or ():
            if key not in signature.outputs:
                raise RequestError("INVALID_ARGUMENT", f"unknown output {key}: the signature "
                                   f"gives {', '.join(sorted(signature.outputs))}", **error)

    def _call(self, attempt: Callable[[float], Any], error: dict) -> Any:
        """``attempt(seconds left)``, again after an UNAVAILABLE answer while the
        retries and the deadline allow."""
        deadline = time.monotonic() + self.timeout_s
        tries = 0
        while True:
            tries += 1
            try:
                return attempt(max(deadline - time.monotonic(), 0.001))
            except _Unavailable as unavailable:
                wait = min(self.max_backoff_s, self.backoff_s * 2 ** (tries - 1))
                wait *= random.uniform(0.5, 1.0)
                if tries > self.retries or time.monotonic() + wait >= deadline:
                    raise RequestError("UNAVAILABLE", f"{unavailable} (after {tries} "
                                       f"attempt{'s' if tries > 1 else ''})", **error) from None
                self._sleep(wait)
            except ServingError as refused:
                raise RequestError(refused.code, refused.message, **error) from None


class _Grpc:
    """PredictionService and ModelService over one channel."""

    name = "grpc"

    def __init__(self, target: str):
        import grpc
        from tensorflow_serving.apis import (model_service_pb2_grpc,
                                             prediction_service_pb2_grpc)

        self._grpc = grpc
        self.channel = grpc.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)])
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def _spec(self, spec, model, version, label, signature=None) -> None:
        spec.name = model
        if version is not None:
            spec.version.value = version
        if label is not None:
            spec.version_label = label
        if signature:
            spec.signature_name = signature

    def _run(self, method, request, seconds):
        try:
            return method(request, timeout=seconds)
        except self._grpc.RpcError as error:
            code = error.code().name
            if code == "UNAVAILABLE":
                raise _Unavailable(error.details()) from None
            raise ServingError(code, error.details() or code) from None

    def predict(self, model, version, label, signature, arrays, outputs, seconds, _names):
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._spec(request.model_spec, model, version, label, signature)
        for key, value in arrays.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        request.output_filter.extend(outputs or ())
        response = self._run(self.predictions.Predict, request, seconds)
        return {key: _text(tf.make_ndarray(proto)) for key, proto in response.outputs.items()}

    def metadata(self, model, version, label, seconds) -> dict[str, Signature]:
        from tensorflow.core.framework import types_pb2
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest()
        self._spec(request.model_spec, model, version, label)
        request.metadata_field.append("signature_def")
        response = self._run(self.predictions.GetModelMetadata, request, seconds)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        return {key: Signature({a: types_pb2.DataType.Name(i.dtype) for a, i in s.inputs.items()},
                               {a: types_pb2.DataType.Name(o.dtype) for a, o in s.outputs.items()})
                for key, s in signatures.signature_def.items() if not key.startswith("__")}

    def status(self, model, version, seconds) -> list[dict]:
        from tensorflow_serving.apis import get_model_status_pb2

        request = get_model_status_pb2.GetModelStatusRequest()
        self._spec(request.model_spec, model, version, None)
        response = self._run(self.models.GetModelStatus, request, seconds)
        states = get_model_status_pb2.ModelVersionStatus.State
        return [{"version": entry.version, "state": states.Name(entry.state),
                 "error_code": "OK" if entry.status.error_code == 0 else "UNKNOWN",
                 "error_message": entry.status.error_message}
                for entry in response.model_version_status]


class _Rest:
    """TF Serving's REST API over one keep-alive HTTP connection."""

    name = "rest"

    def __init__(self, target: str):
        url = urlsplit(target)
        self.https = url.scheme == "https"
        self.host, self.port = url.hostname, url.port or (443 if self.https else 80)
        self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _path(self, model, version, label) -> str:
        path = f"/v1/models/{model}"
        if version is not None:
            path += f"/versions/{version}"
        if label is not None:
            path += f"/labels/{label}"
        return path

    def _request(self, method: str, path: str, body: Any, seconds: float) -> Any:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        if self.connection is None:
            self.connection = kind(self.host, self.port, timeout=seconds)
        self.connection.timeout = seconds
        if self.connection.sock is not None:
            self.connection.sock.settimeout(seconds)
        data = None if body is None else json.dumps(body).encode()
        try:
            self.connection.request(method, path, body=data,
                                    headers={"Content-Type": "application/json"})
            answer = self.connection.getresponse()
            text = answer.read()
        except TimeoutError:
            self.close()
            raise ServingError("DEADLINE_EXCEEDED", "Deadline Exceeded") from None
        except OSError as error:  # refused, reset, a closed keep-alive connection
            self.close()
            raise _Unavailable(f"cannot reach {self.host}:{self.port}: {error}") from None
        try:
            parsed = json.loads(text) if text else {}
        except json.JSONDecodeError:
            parsed = {"error": text.decode(errors="replace").strip()}
        if answer.status == 200:
            return parsed
        message = parsed.get("error", "") if isinstance(parsed, dict) else str(parsed)
        if answer.status == 503:
            raise _Unavailable(message or "UNAVAILABLE")
        code = {status: name for name, status in HTTP_STATUS.items()}.get(answer.status,
                                                                           "UNKNOWN")
        if answer.status == 400:
            code = "INVALID_ARGUMENT"
        raise ServingError(code, message or f"HTTP {answer.status}")

    def predict(self, model, version, label, signature, arrays, outputs, seconds, names):
        body = {"signature_name": signature,
                "inputs": {key: _jsonable(value) for key, value in arrays.items()}}
        answer = self._request("POST", self._path(model, version, label) + ":predict", body,
                               seconds)["outputs"]
        if not (isinstance(answer, dict) and names and set(answer) == set(names)):
            answer = {names[0] if names else "output": answer}  # a single output, unnamed
        return {key: _text(np.asarray(value, dtype=object if _strings(value) else None))
                for key, value in answer.items()}

    def metadata(self, model, version, label, seconds) -> dict[str, Signature]:
        answer = self._request("GET", self._path(model, version, label) + "/metadata", None,
                               seconds)
        signatures = answer["metadata"]["signature_def"]["signature_def"]
        return {key: Signature({a: i["dtype"] for a, i in s.get("inputs", {}).items()},
                               {a: o["dtype"] for a, o in s.get("outputs", {}).items()})
                for key, s in signatures.items() if not key.startswith("__")}

    def status(self, model, version, seconds) -> list[dict]:
        answer = self._request("GET", self._path(model, version, None), None, seconds)
        return [{"version": int(entry["version"]), "state": entry["state"],
                 "error_code": entry["status"]["error_code"],
                 "error_message": entry["status"]["error_message"]}
                for entry in answer["model_version_status"]]


def as_frame(answer: Mapping[str, np.ndarray]):
    """A predict answer as a pandas DataFrame: one row per request row, a column per
    output; an output with several values per row (top-k ids, scores, an
    embedding) becomes a column of arrays."""
    import pandas as pd

    return pd.DataFrame({key: list(value) if np.ndim(value) > 1 else value
                         for key, value in answer.items()})


def _jsonable(array: np.ndarray) -> Any:
    """An input as REST JSON: bytes that are not UTF-8 travel as {"b64": ...}."""
    if array.dtype == object or array.dtype.kind == "S":
        def one(value):
            if isinstance(value, bytes):
                try:
                    return value.decode()
                except UnicodeDecodeError:
                    return {"b64": base64.b64encode(value).decode()}
            return value
        return np.vectorize(one, otypes=[object])(array).tolist() if array.size else []
    return array.tolist()


def _strings(value: Any) -> bool:
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, (str, bytes))


def _text(array: np.ndarray) -> np.ndarray:
    """String outputs as ``str`` whichever transport brought them."""
    if array.dtype == object and array.size:
        return np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else v,
                            otypes=[object])(array)
    return array
