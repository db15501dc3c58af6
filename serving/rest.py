"""TF Serving's REST API over served models (``api_rest.md``).

    POST /v1/models/NAME[/versions/N | /labels/L]:predict
    GET  /v1/models/NAME[/versions/N]            model status
    GET  /v1/models/NAME[/versions/N | /labels/L]/metadata

Errors are ``{"error": message}`` with the HTTP status TF Serving gives their code.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping

from tfxdr_serving.protocol import ServingError, format_predict, parse_predict
from tfxdr_serving.registry import ServedModel

PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)"
                  r"(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
                  r"(?P<action>:predict|/metadata)?$")


class RestServer(ThreadingHTTPServer):
    """An HTTP server answering TF Serving's REST API for ``models`` (by name)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], models: Mapping[str, ServedModel]):
        super().__init__(address, _Handler)
        self.models = models

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's algorithm on, the
    # body waits for the client's delayed ACK (40 ms on Linux) on every answer.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        self._answer("GET")

    def do_POST(self):  # noqa: N802
        self._answer("POST")

    def _answer(self, method: str) -> None:
        try:
            status, body = 200, self._route(method)
        except ServingError as error:
            status, body = error.http_status, error.json()
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> dict:
        match = PATH.match(self.path.split("?", 1)[0])
        if not match:
            raise ServingError("NOT_FOUND", f"Malformed request: {method} {self.path}")
        name, action = match["name"], match["action"]
        model = self.server.models.get(name)
        if model is None:
            raise ServingError("NOT_FOUND", f"Servable not found for request: Latest({name})")
        version = int(match["version"]) if match["version"] else None
        if action == ":predict" and method == "POST":
            return self._predict(model, version, match["label"])
        if action == "/metadata" and method == "GET":
            number, served = model.get(version, match["label"])
            return metadata(name, number, served)
        if action is None and method == "GET" and match["label"] is None:
            return {"model_version_status": model.status(version)}
        raise ServingError("NOT_FOUND", f"Malformed request: {method} {self.path}")

    def _predict(self, model: ServedModel, version, label) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except json.JSONDecodeError as error:
            raise ServingError("INVALID_ARGUMENT", f"JSON Parse error: {error}") from None
        _, served = model.get(version, label)
        signature_name = body.get("signature_name") if isinstance(body, dict) else None
        signature = served.signatures.get(signature_name or "serving_default")
        if signature is None:
            raise ServingError("INVALID_ARGUMENT", f'Serving signature name: '
                               f'"{signature_name or "serving_default"}" not found in '
                               "signature def")
        name, inputs, layout = parse_predict(body, list(signature.inputs))
        return format_predict(served.predict(name, inputs), layout)


def metadata(name: str, version: int, served) -> dict:
    """TF Serving's metadata answer: the model spec and its SignatureDefs."""
    from google.protobuf import json_format
    from tensorflow_serving.apis import get_model_metadata_pb2

    signatures = get_model_metadata_pb2.SignatureDefMap()
    for key, signature in served.signatures.items():
        signatures.signature_def[key].CopyFrom(signature)
    return {"model_spec": {"name": name, "signature_name": "", "version": str(version)},
            "metadata": {"signature_def": json_format.MessageToDict(
                signatures, preserving_proto_field_name=True)}}
