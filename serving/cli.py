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

from tfxdr_serving.config import ConfigError, ModelEntry, model_config


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
    args = parser.parse_args(argv)
    try:
        entries = [parse_model(text, args.base_path) for text in args.model]
        text = model_config(entries, args.container_root)
    except (argparse.ArgumentTypeError, ConfigError) as error:
        parser.error(f"--model: {error}")
    from tfxdr.io import write_text

    write_text(Path(args.out), text)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
