"""The serving client over both of TF Serving's APIs, against the local server on
localhost: answers, padding, errors naming what was wrong, and retries."""

import shutil

import numpy as np
import pytest
from serving_paths import free_port

from tfxdr_serving.client import (RequestError, ServingClient, Signature, as_frame, input_named,
                                  padded)
from tfxdr_serving.grpc_server import grpc_server
from tfxdr_serving.registry import ServedModel
from tfxdr_serving.rest import RestServer


@pytest.fixture()
def served(tiny_model, tmp_path):
    """Versions 1 and 2 of the tiny model; label stable -> 1, canary -> 3 (not there yet)."""
    for version in ("1", "2"):
        shutil.copytree(tiny_model, tmp_path / "tiny" / version)
    model = ServedModel("tiny", tmp_path / "tiny", specific=[1, 2, 3],
                        labels={"stable": 1, "canary": 3}, allow_unavailable_labels=True)
    models = {"tiny": model}
    grpc, grpc_port = grpc_server(models, 0)
    rest = RestServer(("127.0.0.1", 0), models)
    rest.start()
    yield {"grpc": f"127.0.0.1:{grpc_port}", "rest": f"http://127.0.0.1:{rest.server_address[1]}",
           "model": model, "version_3": lambda: shutil.copytree(tiny_model, tmp_path / "tiny" / "3")}
    rest.shutdown()
    grpc.stop(None)


TRANSPORTS = ("grpc", "rest")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_predict_pads_ragged_rows_and_answers_by_version_or_label(served, transport):
    with ServingClient(served[transport], "tiny") as client:
        for kwargs in ({}, {"version": 1}, {"label": "stable"}):
            answer = client.predict({"items": [[1, 2], [3]], "domain": ["a", "b"]},
                                    signature="score", **kwargs)
            # padded on the left to [[-1, 1, 2], [-1, -1, 3]]
            np.testing.assert_array_equal(answer["total"], [2, 1])
            assert answer["total"].dtype == np.int64
            assert list(answer["domain"]) == ["A", "B"]
        only = client.predict({"items": [[4, 5]], "domain": ["c"]}, outputs=["domain"])
        assert list(only) == ["domain"] and list(only["domain"]) == ["C"]
        # one output: REST leaves its name out of the answer, the client puts it back
        np.testing.assert_array_equal(client.predict({"items": [[4, 5]]}, "total")["total"], [9])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_signatures_and_status(served, transport):
    with ServingClient(served[transport], "tiny") as client:
        assert client.signatures()["score"] == Signature(
            {"items": "DT_INT64", "domain": "DT_STRING"},
            {"total": "DT_INT64", "domain": "DT_STRING"})
        assert sorted(client.signatures(label="stable")) == ["score", "serving_default", "total"]
        assert client.status() == [
            {"version": v, "state": "AVAILABLE", "error_code": "OK", "error_message": ""}
            for v in (2, 1)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_client_refuses_a_request_naming_its_input(served, transport):
    client = ServingClient(served[transport], "tiny")
    cases = [
        ({"items": [[1]]}, "score",
         "model tiny, signature score, input domain: INVALID_ARGUMENT: missing input domain: "
         "the signature takes domain, items"),
        ({"items": [[1.5]], "domain": ["a"]}, "score",
         "model tiny, signature score, input items: INVALID_ARGUMENT: input items: expected "
         "DT_INT64, got float64 values"),
        ({"items": [[1]], "extra": [1]}, "total",
         "model tiny, signature total, input extra: INVALID_ARGUMENT: unknown input extra: "
         "the signature takes items"),
        ({"items": [[1]]}, "nope",
         "model tiny, signature nope: FAILED_PRECONDITION: the model has no signature nope; "
         "it has score, serving_default, total"),
    ]
    for inputs, signature, message in cases:
        with pytest.raises(RequestError) as refused:
            client.predict(inputs, signature)
        assert str(refused.value) == message


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_servers_errors_name_the_model_the_signature_and_the_input(served, transport):
    client = ServingClient(served[transport], "tiny", validate=False)
    with pytest.raises(RequestError) as refused:
        client.predict({"items": [1, 2]}, "total")  # rank 1, the signature reads rank 2
    assert (refused.value.code, refused.value.input, refused.value.signature) == \
        ("INVALID_ARGUMENT", "items", "total")
    assert "Shape of tensor items [2] is not compatible with expected shape [?,?]" in \
        refused.value.message
    with pytest.raises(RequestError) as refused:
        client.predict({"items": [[1.5]]}, "total")
    assert str(refused.value) == ("model tiny, signature total, input items: INVALID_ARGUMENT: "
                                  "input items: expected int64, got float64")
    with pytest.raises(RequestError) as refused:
        client.predict({"items": [[1]]}, "score", label="beta")
    assert str(refused.value) == ("model tiny label beta, signature score: INVALID_ARGUMENT: "
                                  "Unrecognized servable version label: beta")
    with pytest.raises(RequestError) as refused:
        ServingClient(served[transport], "nope").predict({"items": [[1]]})
    assert str(refused.value) == ("model nope, signature serving_default: NOT_FOUND: "
                                  "Servable not found for request: Latest(nope)")
    with pytest.raises(RequestError) as refused:
        client.status(version=9)
    assert (refused.value.code, refused.value.version) == ("NOT_FOUND", 9)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unavailable_is_retried_until_the_version_serves(served, transport):
    waits = []

    def sleep(seconds):  # while the client waits, version 3 arrives and is loaded
        waits.append(seconds)
        served["version_3"]()
        served["model"].poll()

    client = ServingClient(served[transport], "tiny", sleep=sleep, backoff_s=0.2)
    answer = client.predict({"items": [[1, 2]], "domain": ["a"]}, label="canary")
    np.testing.assert_array_equal(answer["total"], [3])
    assert len(waits) == 1 and 0.1 <= waits[0] <= 0.2
    assert client.status(version=3)[0]["state"] == "AVAILABLE"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_refused_connection_is_retried_with_backoff_then_reported(transport):
    port = free_port()  # nothing listens on it
    target = f"http://127.0.0.1:{port}" if transport == "rest" else f"127.0.0.1:{port}"
    waits = []
    client = ServingClient(target, "tiny", retries=3, backoff_s=0.1, max_backoff_s=0.3,
                           sleep=waits.append, validate=False)
    with pytest.raises(RequestError) as refused:
        client.predict({"items": [[1]]}, "total")
    assert refused.value.code == "UNAVAILABLE"
    assert refused.value.message.endswith("(after 4 attempts)")
    assert len(waits) == 3
    for wait, most in zip(waits, (0.1, 0.2, 0.3)):  # doubling, capped, jittered by 0.5-1
        assert most / 2 <= wait <= most


def test_no_retry_past_the_deadline_nor_on_other_errors(served):
    waits = []
    client = ServingClient(served["grpc"], "tiny", timeout_s=0.5, backoff_s=1.0, retries=100,
                           sleep=waits.append)
    with pytest.raises(RequestError) as refused:  # the first wait alone would pass the deadline
        client.predict({"items": [[1]], "domain": ["a"]}, "score", label="canary")
    assert refused.value.code == "UNAVAILABLE"
    assert refused.value.message.endswith("(after 1 attempt)")
    with pytest.raises(RequestError):
        client.predict({"items": [[1]], "domain": ["a"]}, "score", version=7)
    assert waits == []


def test_padding_puts_padding_first():
    np.testing.assert_array_equal(padded([[1, 2], [3], []]),
                                  [[-1, 1, 2], [-1, -1, 3], [-1, -1, -1]])
    assert padded([["a"], ["b", "c"]]).tolist() == [["", "", "a"], ["", "b", "c"]]


@pytest.mark.parametrize("message,expected", [
    ("Shape of tensor _arg_serving_default_item_ids_0_0 [1] is not compatible", "item_ids"),
    ("item_id: expected one row per user_id", "item_id"),
    ("Missing named input: history_books in 'inputs' object.", "history_books"),
    ("input size does not match signature: 1!=2 len({item_id}) != len({item_id,user_id}). "
     "Sent extra: {}. Missing but required: {user_id}.", "user_id"),
    ("Sent extra: {x}. Missing but required: {}.", "x"),
    ("Unrecognized servable version label: beta", None),
])
def test_input_named_reads_tf_servings_phrasings(message, expected):
    assert input_named(message, ["item_id", "item_ids", "user_id"]) == expected


def test_a_rest_client_runs_without_tensorflow(served):
    """A REST caller (a web backend, a batch job) need not load TensorFlow."""
    import subprocess
    import sys

    script = ("import sys; from tfxdr_serving.client import ServingClient; "
              f"c = ServingClient({served['rest']!r}, 'tiny'); "
              "print(c.predict({'items': [[1, 2]], 'domain': ['a']})['domain'][0], "
              "'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.split() == ["A", "False"], done.stderr


def test_an_answer_as_a_frame_has_a_row_per_request_row():
    frame = as_frame({"top_k_ids": np.array([[3, 1], [2, 5]]), "ctr": np.array([0.5, 0.25])})
    assert list(frame.columns) == ["top_k_ids", "ctr"] and len(frame) == 2
    assert frame["top_k_ids"][1].tolist() == [2, 5] and frame["ctr"][1] == 0.25
