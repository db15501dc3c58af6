"""``tfxdr-model-server``: a local stand-in for ``tensorflow_model_server``.

It takes TF Serving's own flags, so one command line works for both:

    tfxdr-model-server --port=8500 --rest_api_port=8501 \
        --model_name=clicks --model_base_path=models/clicks
    tfxdr-model-server --port=8500 --rest_api_port=8501 --model_config_file=models.config

and speaks the same gRPC (PredictionService, ModelService) and REST APIs over
the same directories: the latest version or the configured ones, version
labels, warmup replayed at load, a new version picked up while it runs
(``--file_system_poll_wait_seconds``).  For development and tests; production
runs TF Serving (serving/docker-compose.yml).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from tfxdr_serving.protocol import ServingError
from tfxdr_serving.registry import ServedModel

#: TF Serving flags accepted and ignored here (batching, threads, tags, channel args).
IGNORED = ("enable_batching", "batching_parameters_file", "rest_api_num_threads",
           "grpc_max_threads", "num_load_threads", "saved_model_tags", "grpc_channel_arguments",
           "monitoring_config_file", "model_config_file_poll_wait_seconds",
           "tensorflow_intra_op_parallelism", "tensorflow_inter_op_parallelism")


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def parser() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(prog="tfxdr-model-server", description=__doc__.splitlines()[0])
    flags.add_argument("--port", type=int, default=8500, help="gRPC port (0: none)")
    flags.add_argument("--rest_api_port", type=int, default=0, help="REST port (0: none)")
    flags.add_argument("--rest_api_host", default="127.0.0.1")
    flags.add_argument("--model_name", default="default")
    flags.add_argument("--model_base_path")
    flags.add_argument("--model_config_file")
    flags.add_argument("--file_system_poll_wait_seconds", type=float, default=1.0)
    flags.add_argument("--allow_version_labels_for_unavailable_models", type=_flag,
                       default=False, nargs="?", const=True)
    flags.add_argument("--enable_model_warmup", type=_flag, default=True, nargs="?", const=True)
    for name in IGNORED:
        flags.add_argument(f"--{name}", help=argparse.SUPPRESS)
    return flags


def load_models(args) -> dict[str, ServedModel]:
    """The models the flags name: one from --model_name/--model_base_path, or every
    entry of --model_config_file (which then wins, as in TF Serving)."""
    options = dict(allow_unavailable_labels=args.allow_version_labels_for_unavailable_models,
                   warmup=args.enable_model_warmup)
    if not args.model_config_file:
        if not args.model_base_path:
            raise ServingError("INVALID_ARGUMENT", "Both server_model_config and "
                               "model_config_file are empty: pass --model_base_path or "
                               "--model_config_file")
        return {args.model_name: ServedModel(args.model_name, args.model_base_path, **options)}
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    text_format.Parse(Path(args.model_config_file).read_text(), config)
    models = {}
    for entry in config.model_config_list.config:
        policy = entry.model_version_policy
        kind = policy.WhichOneof("policy_choice")
        specific = tuple(policy.specific.versions) if kind == "specific" else ()
        latest = 10 ** 9 if kind == "all" else (policy.latest.num_versions or 1)
        models[entry.name] = ServedModel(entry.name, entry.base_path, specific, latest,
                                         dict(entry.version_labels), **options)
    return models


def poll_forever(models: dict[str, ServedModel], seconds: float, stop: threading.Event) -> None:
    """Looks for new versions every ``seconds`` until ``stop`` is set."""
    while not stop.wait(seconds):
        for model in models.values():
            model.poll()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        models = load_models(args)
    except (ServingError, OSError) as error:
        print(f"tfxdr-model-server: error: {getattr(error, 'message', error)}", file=sys.stderr)
        return 2
    from tfxdr_serving.grpc_server import grpc_server
    from tfxdr_serving.rest import RestServer

    servers = []
    if args.port:
        server, port = grpc_server(models, args.port)
        servers.append(lambda: server.stop(None))
        print(f"gRPC on port {port}", flush=True)
    if args.rest_api_port:
        rest = RestServer((args.rest_api_host, args.rest_api_port), models)
        rest.start()
        servers.append(rest.shutdown)
        print(f"REST on http://{args.rest_api_host}:{rest.server_address[1]}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, _interrupt)  # docker stop, kill: stop as on Ctrl-C
    if args.file_system_poll_wait_seconds > 0:
        threading.Thread(target=poll_forever, daemon=True,
                         args=(models, args.file_system_poll_wait_seconds, stop)).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for close in servers:
            close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
