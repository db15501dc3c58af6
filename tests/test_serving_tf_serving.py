"""The client against a real ``tensorflow_model_server``, when one is on PATH (the
binary is not installable on every machine; the local server's suite stands in
where it is not).  Only TF Serving's own behaviour is asserted here: answers by
version and label, its status, and its messages for unknown models, versions and
labels and for missing inputs."""

import shutil
import subprocess

import numpy as np
import pytest
from serving_paths import free_port

from tfxdr_serving.client import RequestError, ServingClient
from tfxdr_serving.config import ModelEntry, model_config

BINARY = shutil.which("tensorflow_model_server")
pytestmark = pytest.mark.skipif(BINARY is None, reason="tensorflow_model_server is not on PATH")




@pytest.fixture(scope="module")
def targets(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("tf-serving")
    for version in ("1", "2"):
        shutil.copytree(tiny_model, root / "tiny" / version)
    config = root / "models.config"
    config.write_text(model_config([ModelEntry("tiny", str(root / "tiny"), (1, 2),
                                               {"stable": 1})]))
    grpc_port, rest_port = free_port(), free_port()
    server = subprocess.Popen([BINARY, f"--port={grpc_port}", f"--rest_api_port={rest_port}",
                               f"--model_config_file={config}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    targets = {"grpc": f"127.0.0.1:{grpc_port}", "rest": f"http://127.0.0.1:{rest_port}"}
    try:  # the client retries while the server starts and loads
        ServingClient(targets["grpc"], "tiny", timeout_s=60, retries=100).status()
        yield targets
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("transport", ("grpc", "rest"))
def test_answers_status_and_errors_of_tf_serving(targets, transport):
    client = ServingClient(targets[transport], "tiny", timeout_s=30)
    for kwargs in ({}, {"version": 1}, {"label": "stable"}):
        answer = client.predict({"items": [[1, 2], [3]], "domain": ["a", "b"]}, "score",
                                **kwargs)
        np.testing.assert_array_equal(answer["total"], [2, 1])
        assert list(answer["domain"]) == ["A", "B"]
    assert [entry["version"] for entry in client.status()] == [2, 1]
    raw = ServingClient(targets[transport], "tiny", validate=False)
    for kwargs, code, message in (
            ({"version": 9}, "NOT_FOUND", "Specific(tiny, 9)"),
            ({"label": "beta"}, "INVALID_ARGUMENT", "Unrecognized servable version label: beta")):
        with pytest.raises(RequestError) as refused:
            raw.predict({"items": [[1]], "domain": ["a"]}, "score", **kwargs)
        assert refused.value.code == code and message in refused.value.message
    with pytest.raises(RequestError) as refused:
        raw.predict({"items": [[1]]}, "score")
    assert (refused.value.code, refused.value.input) == ("INVALID_ARGUMENT", "domain")
