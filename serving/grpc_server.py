"""TF Serving's gRPC API over served models: ``PredictionService`` (Predict,
GetModelMetadata) and ``ModelService`` (GetModelStatus), with its status codes."""

from __future__ import annotations

from concurrent import futures
from typing import Mapping

import grpc
import tensorflow as tf
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2,
                                     model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc)

from tfxdr_serving.protocol import ServingError
from tfxdr_serving.registry import ServedModel


def _spec(models: Mapping[str, ServedModel], spec):
    """The model a request's ModelSpec names, and the version it reaches."""
    model = models.get(spec.name)
    if model is None:
        raise ServingError("NOT_FOUND", f"Servable not found for request: Latest({spec.name})")
    version = spec.version.value if spec.HasField("version") else None
    return model, *model.get(version, spec.version_label or None)


def _aborting(method):
    """Runs a handler; a ServingError becomes its gRPC status."""
    def handler(self, request, context):
        try:
            return method(self, request, context)
        except ServingError as error:
            context.abort(getattr(grpc.StatusCode, error.code), error.message)
    handler.__name__ = method.__name__
    return handler


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, models: Mapping[str, ServedModel]):
        self.models = models

    @_aborting
    def Predict(self, request, context):  # noqa: N802 - the service's name
        _, number, served = _spec(self.models, request.model_spec)
        inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        outputs = served.predict(request.model_spec.signature_name or None, inputs)
        if request.output_filter:
            unknown = sorted(set(request.output_filter) - set(outputs))
            if unknown:
                raise ServingError("INVALID_ARGUMENT",
                                   f"output tensor alias not found in signature: {unknown[0]}")
            outputs = {name: outputs[name] for name in request.output_filter}
        response = predict_pb2.PredictResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = number
        response.model_spec.signature_name = request.model_spec.signature_name or \
            "serving_default"
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    @_aborting
    def GetModelMetadata(self, request, context):  # noqa: N802
        for field in request.metadata_field:
            if field != "signature_def":
                raise ServingError("INVALID_ARGUMENT", f"Metadata field {field} is not supported")
        _, number, served = _spec(self.models, request.model_spec)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in served.signatures.items():
            signatures.signature_def[key].CopyFrom(signature)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = number
        response.metadata["signature_def"].Pack(signatures)
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, models: Mapping[str, ServedModel]):
        self.models = models

    @_aborting
    def GetModelStatus(self, request, context):  # noqa: N802
        model = self.models.get(request.model_spec.name)
        if model is None:
            raise ServingError("NOT_FOUND", f"Could not find any versions of model "
                               f"{request.model_spec.name}")
        version = request.model_spec.version.value \
            if request.model_spec.HasField("version") else None
        response = get_model_status_pb2.GetModelStatusResponse()
        for entry in model.status(version):
            status = response.model_version_status.add()
            status.version = int(entry["version"])
            status.state = get_model_status_pb2.ModelVersionStatus.State.Value(entry["state"])
            status.status.error_code = 0 if entry["status"]["error_code"] == "OK" else 2
            status.status.error_message = entry["status"]["error_message"]
        return response


def grpc_server(models: Mapping[str, ServedModel], port: int, threads: int = 8) -> tuple:
    """A started gRPC server with both services on ``port`` (0: any free one);
    returns ``(server, port)``."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads),
                         options=[("grpc.max_send_message_length", 2 ** 31 - 1),
                                  ("grpc.max_receive_message_length", 2 ** 31 - 1)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(models), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(models), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, bound
