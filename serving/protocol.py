"""TF Serving's REST protocol: request JSON to arrays, arrays to response JSON, and
its status codes, as its model server speaks them (``api_rest.md``).

A predict request is ``{"signature_name": S, "instances": [...]}`` (row format:
one object per row with every input, or one value per row when the signature
has one input; every row of one shape) or ``{"inputs": {...}}`` (columnar: each
input whole; names the signature does not have are ignored).  The answer is
``{"predictions": [...]}`` (a list of per-row objects, or of values when there
is one output) or ``{"outputs": {...}}`` (one value when there is one output).
Binary strings travel as ``{"b64": "..."}``; -inf scores as ``-Infinity``.
"""

from __future__ import annotations

import base64
from typing import Any, Sequence

import numpy as np

#: The HTTP status of each gRPC status code, as TF Serving's REST server maps them.
HTTP_STATUS = {"OK": 200, "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400,
               "OUT_OF_RANGE": 400, "NOT_FOUND": 404, "UNAVAILABLE": 503,
               "DEADLINE_EXCEEDED": 504, "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNKNOWN": 500}


class ServingError(Exception):
    """A request TF Serving would answer with ``code`` (a gRPC status name)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)

    def json(self) -> dict:
        return {"error": self.message}


def _decode(value: Any) -> Any:
    """``{"b64": ...}`` to bytes, recursively; everything else as it is."""
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            return base64.b64decode(value["b64"])
        raise ServingError("INVALID_ARGUMENT", f"unexpected object {sorted(value)} in a tensor: "
                           "only {\"b64\": ...} is one")
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _array(value: Any, name: str) -> np.ndarray:
    value = _decode(value)
    try:
        array = np.array(value, dtype=object if _has_strings(value) else None)
    except ValueError:
        raise ServingError("INVALID_ARGUMENT", f"input {name}: rows of different shapes; pad "
                           "them to one length") from None
    if array.dtype == object and not _has_strings(value):
        raise ServingError("INVALID_ARGUMENT", f"input {name}: rows of different shapes; pad "
                           "them to one length")
    return array


def _has_strings(value: Any) -> bool:
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, (str, bytes))


def parse_predict(body: Any, input_names: Sequence[str]) -> tuple[str | None, dict, str]:
    """``(signature name or None, {input: array}, "row" | "columnar")`` of a predict
    body, for a signature with ``input_names``.

    Raises:
        ServingError: INVALID_ARGUMENT naming what is wrong, as TF Serving would.
    """
    if not isinstance(body, dict):
        raise ServingError("INVALID_ARGUMENT", "the request body must be a JSON object")
    if ("instances" in body) == ("inputs" in body):
        raise ServingError("INVALID_ARGUMENT", "the request must have exactly one of "
                           "'instances' (row format) or 'inputs' (columnar format)")
    signature = body.get("signature_name")
    names = list(input_names)
    if "inputs" in body:
        inputs = body["inputs"]
        if len(names) == 1 and (not isinstance(inputs, dict) or set(inputs) == {"b64"}):
            inputs = {names[0]: inputs}  # one input: its value alone
        if not isinstance(inputs, dict):
            raise ServingError("INVALID_ARGUMENT", "'inputs' must be an object of the "
                               f"signature's inputs: {', '.join(names)}")
        for name in names:
            if name not in inputs:
                raise ServingError("INVALID_ARGUMENT",
                                   f"Missing named input: {name} in 'inputs' object.")
        return signature, {name: _array(inputs[name], name) for name in names}, "columnar"
    rows = body["instances"]
    if not isinstance(rows, list) or not rows:
        raise ServingError("INVALID_ARGUMENT", "'instances' must be a non-empty list")
    if len(names) == 1 and not all(isinstance(r, dict) and set(r) == set(names) for r in rows):
        rows = [{names[0]: r} for r in rows]
    for number, row in enumerate(rows):
        if not isinstance(row, dict) or set(row) != set(names):
            raise ServingError("INVALID_ARGUMENT", f"instance {number}: its keys must be equal "
                               f"to: {','.join(sorted(names))}")
    return signature, {name: _array([r[name] for r in rows], name) for name in names}, "row"


def _jsonable(array: np.ndarray) -> Any:
    if array.dtype == object or array.dtype.kind in "SU":
        return np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else str(v),
                            otypes=[object])(array).tolist() if array.size else array.tolist()
    return array.tolist()


def format_predict(outputs: dict[str, np.ndarray], layout: str) -> dict:
    """The answer of a predict request in ``layout`` ("row" or "columnar")."""
    names = list(outputs)
    if layout == "columnar":
        values = {name: _jsonable(np.asarray(v)) for name, v in outputs.items()}
        return {"outputs": values[names[0]] if len(names) == 1 else values}
    columns = {name: _jsonable(np.asarray(v)) for name, v in outputs.items()}
    rows = len(next(iter(columns.values())))
    if len(names) == 1:
        return {"predictions": columns[names[0]]}
    return {"predictions": [{name: columns[name][i] for name in names} for i in range(rows)]}
