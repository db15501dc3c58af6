"""``tfxdr-pipeline``: runs the pipeline, or one of its components, from a config.

    tfxdr-pipeline run pipelines/examples/ml-100k.toml --output runs/pipeline
    tfxdr-pipeline step ExampleGen pipelines/examples/ml-100k.toml --output runs/pipeline
    tfxdr-pipeline run CONFIG --output DIR --direct_running_mode=multi_processing \\
        --direct_num_workers=2
    TF_CONFIG=... tfxdr-pipeline step Trainer CONFIG --output DIR --strategy multi_worker

Any other option is Beam's (``--runner``, the DirectRunner's, Flink's, Spark's,
Dataflow's) and reaches Beam unchanged; one Beam does not know either is an
error.  ``step`` runs one component on the latest outputs of those it reads,
as an orchestrator's task would.  Errors and anomalies are one line and exit
status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Sequence

from tfxdr.errors import TfxdrError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from tfxdr_pipelines.config import STRATEGIES
    from tfxdr_pipelines.runner import BY_NAME

    parser = _Parser(prog="tfxdr-pipeline", description="TFX-style pipelines for tfxdr on "
                     "Apache Beam (other options are Beam's).")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run every component in order, reusing cached outputs")
    run.add_argument("--until", choices=list(BY_NAME),
                     help="stop after this component (e.g. Transform: data only)")
    step = commands.add_parser("step", help="run one component on the latest outputs of its "
                               "inputs")
    step.add_argument("component", choices=list(BY_NAME))
    for sub in (run, step):
        sub.add_argument("config", type=Path, help="the pipeline's TOML file")
        sub.add_argument("--output", type=Path, required=True,
                         help="the pipeline root: every component's outputs and lineage")
        sub.add_argument("--strategy", choices=STRATEGIES,
                         help="the Trainer's distribution strategy, in place of the config's "
                              "[trainer] strategy (multi_worker reads the cluster from "
                              "TF_CONFIG)")
    return parser


def beam_options(parser: argparse.ArgumentParser, extra: list[str]) -> list[str]:
    """The options left for Beam; one Beam does not know is a usage error."""
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(extra)
    unknown = set(options.get_all_options(retain_unknown_options=True)) - set(
        options.get_all_options())
    if unknown:
        parser.error(f"unrecognized arguments: --{sorted(unknown)[0]} (neither "
                     "tfxdr-pipeline's nor a Beam pipeline option)")
    return extra


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    beam_args = beam_options(parser, extra)
    from tfxdr_pipelines.config import load_config
    from tfxdr_pipelines.runner import run_pipeline, run_step

    try:
        config = load_config(args.config)
        if args.strategy:
            config = dataclasses.replace(config, trainer=dataclasses.replace(
                config.trainer, strategy=args.strategy))
        if args.command == "run":
            run_pipeline(config, args.output, beam_args, until=args.until)
        else:
            run_step(args.component, config, args.output, beam_args)
    except TfxdrError as error:
        print(f"tfxdr-pipeline: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
