"""One request through every path that serves an export: the SavedModel loaded in
Python, and the local model server over gRPC and over REST with the client; the
contract golden files of the export tests; a free port."""

import json
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import tensorflow as tf

GOLDEN = Path(__file__).resolve().parent / "golden"


def free_port() -> int:
    """A port nothing listens on now (the servers take 0 as "none", as TF Serving does)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_served_alike(export_dir: Path, scratch: Path, signature: str, inputs: dict) -> dict:
    """The answer of ``signature`` on ``inputs`` from the SavedModel, asserting that
    the local server answers the same over gRPC and REST (within 1e-5, ids equal)."""
    from tfxdr_serving.client import ServingClient
    from tfxdr_serving.grpc_server import grpc_server
    from tfxdr_serving.registry import ServedModel
    from tfxdr_serving.rest import RestServer

    direct = {name: value.numpy() for name, value in tf.saved_model.load(str(export_dir))
              .signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()}).items()}
    shutil.copytree(export_dir, scratch / "model" / "1")
    models = {"model": ServedModel("model", scratch / "model")}
    grpc, port = grpc_server(models, 0)
    rest = RestServer(("127.0.0.1", 0), models)
    rest.start()
    try:
        for target in (f"127.0.0.1:{port}", f"http://127.0.0.1:{rest.server_address[1]}"):
            with ServingClient(target, "model", timeout_s=60) as client:
                answer = client.predict(inputs, signature)
            assert sorted(answer) == sorted(direct), target
            for name, value in direct.items():
                if value.dtype.kind in "fc":
                    np.testing.assert_allclose(answer[name].astype(value.dtype), value,
                                               atol=1e-5, err_msg=f"{target} {name}")
                else:  # ids: strings come back as str
                    expected = np.vectorize(bytes.decode, otypes=[object])(value) \
                        if value.dtype == object else value
                    np.testing.assert_array_equal(answer[name], expected,
                                                  err_msg=f"{target} {name}")
    finally:
        rest.shutdown()
        grpc.stop(None)
    return direct


def assert_contract(export_dir: Path, family: str) -> None:
    """The export's signature contract equals ``golden/signatures_<family>.json``;
    TFXDR_UPDATE_GOLDEN=1 rewrites the file instead (after a deliberate change)."""
    from tfxdr.export.contract import describe

    contract = describe(export_dir)
    golden = GOLDEN / f"signatures_{family}.json"
    if os.environ.get("TFXDR_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(json.dumps(contract, indent=2, sort_keys=True) + "\n")
    assert golden.is_file(), f"{golden} is missing; TFXDR_UPDATE_GOLDEN=1 writes it"
    assert contract == json.loads(golden.read_text()), (
        f"the {family} export's signatures changed: {json.dumps(contract, sort_keys=True)}; "
        f"if that is meant, rerun with TFXDR_UPDATE_GOLDEN=1 and commit {golden.name}")
