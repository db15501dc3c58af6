"""``tfxdr-serving``: writes the files TF Serving reads beside a model root.

    tfxdr-serving config --base-path models --model clicks@stable=1,canary=2 \
        --model ctr --container-root /models --out models/models.config

``--model NAME`` serves the latest version of ``BASE_PATH/NAME``; ``NAME:1,2``
those versions; ``NAME@LABEL=V,...`` the labelled versions under their labels
(a model may have both).  Errors are one line and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from tfxdr_serving.config import (ConfigError, ModelEntry, batching_parameters,
                                  model_config, monitoring_config)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_model(text: str, base_path: str) -> ModelEntry:
    """``NAME[:V,V...][@LABEL=V,...]`` under ``base_path``."""
    head, _, labelled = text.partition("@")
    name, _, listed = head.partition(":")
    try:
        versions = tuple(int(v) for v in listed.split(",")) if listed else ()
        labels = {}
        for pair in filter(None, labelled.split(",")):
            label, equals, version = pair.partition("=")
            if not equals:
                raise ValueError
            labels[label] = int(version)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME[:VERSION,...][@LABEL=VERSION,...]") from None
    return ModelEntry(name, str(Path(base_path) / name), versions, labels)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="tfxdr-serving", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    config = commands.add_parser("config", help="write a models.config")
    config.add_argument("--base-path", required=True, help="the model root")
    config.add_argument("--model", action="append", required=True,
                        metavar="NAME[:V,...][@LABEL=V,...]")
    config.add_argument("--container-root", help="the root as the server sees it, e.g. "
                        "/models in the tensorflow/serving image")
    config.add_argument("--out", required=True, help="the config file to write")
    monitoring = commands.add_parser("monitoring", help="write a monitoring config "
                                     "(Prometheus metrics on the REST port)")
    monitoring.add_argument("--path", default="/monitoring/prometheus/metrics")
    monitoring.add_argument("--out", required=True)
    batching = commands.add_parser("batching", help="write a batching parameters file")
    batching.add_argument("--max-batch-size", type=int, default=128)
    batching.add_argument("--batch-timeout-micros", type=int, default=0)
    batching.add_argument("--num-batch-threads", type=int, default=4)
    batching.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    from tfxdr.io import write_text

    if args.command == "monitoring":
        return _write(parser, args.out, lambda: monitoring_config(args.path))
    if args.command == "batching":
        return _write(parser, args.out, lambda: batching_parameters(
            args.max_batch_size, args.batch_timeout_micros,
            num_batch_threads=args.num_batch_threads))
    try:
        entries = [parse_model(text, args.base_path) for text in args.model]
        text = model_config(entries, args.container_root)
    except (argparse.ArgumentTypeError, ConfigError) as error:
        parser.error(f"--model: {error}")
    write_text(Path(args.out), text)
    print(args.out)
    return 0


def _write(parser, out: str, make) -> int:
    from tfxdr.io import write_text

    try:
        text = make()
    except ConfigError as error:
        parser.error(str(error))
    write_text(Path(out), text)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
