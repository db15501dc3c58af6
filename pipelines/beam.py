"""Beam pipelines from pass-through options.

Every Beam option a command line does not know (``--runner``,
``--direct_running_mode=multi_processing``, ``--direct_num_workers=2``,
Flink's ``--flink_master``, Dataflow's ``--project`` ...) reaches Beam
unchanged; without ``--runner`` it is Beam's DirectRunner.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import apache_beam as beam
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions


def make_pipeline(beam_args: list[str]) -> beam.Pipeline:
    """A Beam pipeline for ``beam_args`` (Beam's own command-line options)."""
    return beam.Pipeline(options=PipelineOptions(list(beam_args)))


@contextlib.contextmanager
def shared_temp_dir(beam_args: list[str], output_root: Path) -> Iterator[str]:
    """A scratch directory every Beam worker reaches: under ``--temp_location`` when
    one is given (a bucket, for Dataflow), else under the output root, which a
    cluster's workers share; removed afterwards when it is a local one."""
    location = PipelineOptions(list(beam_args)).view_as(GoogleCloudOptions).temp_location
    if location:
        yield f"{location.rstrip('/')}/tfxdr-{uuid.uuid4().hex}"
        return
    Path(output_root).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_root, prefix=".beam-tmp-") as scratch:
        yield scratch
