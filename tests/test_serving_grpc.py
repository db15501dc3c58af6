"""TF Serving's gRPC API on a served model, over a real channel on localhost."""


import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc)

from tfxdr_serving.grpc_server import grpc_server


@pytest.fixture()
def channel(tiny_models):
    models = tiny_models
    server, port = grpc_server(models, 0)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    server.stop(None)


def _request(version=None, label=None, signature="score", items=((1, 2), (3, -1))):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "tiny"
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    request.inputs["items"].CopyFrom(tf.make_tensor_proto(np.array(items, np.int64)))
    request.inputs["domain"].CopyFrom(tf.make_tensor_proto(np.array([b"a", b"b"][:len(items)])))
    return request


def test_predict_reaches_the_latest_a_version_or_a_label(channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    for kwargs, version in (({}, 2), ({"version": 1}, 1), ({"label": "stable"}, 1)):
        response = stub.Predict(_request(**kwargs), timeout=10)
        assert response.model_spec.version.value == version
        np.testing.assert_array_equal(tf.make_ndarray(response.outputs["total"]), [3, 2])
        assert list(tf.make_ndarray(response.outputs["domain"])) == [b"A", b"B"]
    filtered = _request()
    filtered.output_filter.append("total")
    assert list(stub.Predict(filtered, timeout=10).outputs) == ["total"]


@pytest.mark.parametrize("kwargs,code,message", [
    ({"version": 7}, grpc.StatusCode.NOT_FOUND,
     "Servable not found for request: Specific(tiny, 7)"),
    ({"label": "beta"}, grpc.StatusCode.INVALID_ARGUMENT,
     "Unrecognized servable version label: beta"),
    ({"signature": "x"}, grpc.StatusCode.FAILED_PRECONDITION,
     'Serving signature key "x" not found.'),
    ({"items": (1,)}, grpc.StatusCode.INVALID_ARGUMENT,
     "Shape of tensor items [1] is not compatible with expected shape [?,?]."),
])
def test_bad_requests_get_tf_servings_codes_and_the_server_goes_on(channel, kwargs, code,
                                                                  message):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(_request(**kwargs), timeout=10)
    assert (error.value.code(), error.value.details()) == (code, message)
    assert stub.Predict(_request(), timeout=10).model_spec.version.value == 2


def test_metadata_and_status(channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "tiny"
    response = stub.GetModelMetadata(request, timeout=10)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    assert sorted(signatures.signature_def) == ["score", "serving_default", "total"]
    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(model_spec={"name": "tiny"}), timeout=10)
    assert [(s.version, s.state) for s in status.model_version_status] == [
        (2, get_model_status_pb2.ModelVersionStatus.State.AVAILABLE),
        (1, get_model_status_pb2.ModelVersionStatus.State.AVAILABLE)]
