"""Beam pipelines from pass-through options.

Every Beam option a command line does not know (``--runner``,
``--direct_running_mode=multi_processing``, ``--direct_num_workers=2``,
Flink's ``--flink_master``, Dataflow's ``--project`` ...) reaches Beam
unchanged; without ``--runner`` it is Beam's DirectRunner.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions


def make_pipeline(beam_args: list[str]) -> beam.Pipeline:
    """A Beam pipeline for ``beam_args`` (Beam's own command-line options)."""
    return beam.Pipeline(options=PipelineOptions(list(beam_args)))

