"""TF Serving's REST API on a served model, over real HTTP on localhost."""

import json
import urllib.error
import urllib.request

import pytest

from tfxdr_serving.rest import RestServer


@pytest.fixture()
def server(tiny_models):
    models = tiny_models
    server = RestServer(("127.0.0.1", 0), models)
    server.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data)) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_predict_by_latest_version_or_label_in_both_layouts(server):
    rows = {"signature_name": "score", "instances": [{"items": [1, 2], "domain": "a"},
                                                     {"items": [3, -1], "domain": "b"}]}
    expected = {"predictions": [{"total": 3, "domain": "A"}, {"total": 2, "domain": "B"}]}
    for path in ("", "/versions/1", "/labels/stable"):
        assert _call(f"{server}/v1/models/tiny{path}:predict", rows) == (200, expected)
    columns = {"inputs": {"items": [[1, 2]], "domain": ["c"]}}
    assert _call(f"{server}/v1/models/tiny:predict", columns) == (
        200, {"outputs": {"total": [3], "domain": ["C"]}})


@pytest.mark.parametrize("path,body,status,error", [
    ("/v1/models/nope:predict", {"instances": [1]}, 404,
     "Servable not found for request: Latest(nope)"),
    ("/v1/models/tiny/versions/7:predict", {"instances": [1]}, 404,
     "Servable not found for request: Specific(tiny, 7)"),
    ("/v1/models/tiny/labels/beta:predict", {"instances": [1]}, 400,
     "Unrecognized servable version label: beta"),
    ("/v1/models/tiny:predict", {"signature_name": "x", "instances": [1]}, 400,
     'Serving signature name: "x" not found in signature def'),
    ("/v1/models/tiny:predict", {"inputs": {"items": [[1.5]], "domain": ["a"]}}, 400,
     "input items: expected int64, got float64"),
    ("/v1/models/tiny:predict", {"inputs": {"items": [1], "domain": ["a"]}}, 400,
     "Shape of tensor items [1] is not compatible with expected shape [?,?]."),
])
def test_bad_requests_get_tf_servings_status_and_the_server_goes_on(server, path, body,
                                                                   status, error):
    assert _call(server + path, body) == (status, {"error": error})
    assert _call(f"{server}/v1/models/tiny:predict", {"inputs": {
        "items": [[1]], "domain": ["a"]}})[0] == 200


def test_status_and_metadata(server):
    status, body = _call(f"{server}/v1/models/tiny")
    assert status == 200 and [v["version"] for v in body["model_version_status"]] == ["2", "1"]
    assert body["model_version_status"][0]["state"] == "AVAILABLE"
    status, body = _call(f"{server}/v1/models/tiny/labels/stable/metadata")
    assert status == 200 and body["model_spec"]["version"] == "1"
    inputs = body["metadata"]["signature_def"]["signature_def"]["score"]["inputs"]
    assert {name: spec["dtype"] for name, spec in inputs.items()} == {
        "items": "DT_INT64", "domain": "DT_STRING"}
