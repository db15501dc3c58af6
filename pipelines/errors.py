"""Errors of a pipeline run, turned into one line and exit status 2 by the command."""

from __future__ import annotations

from tfxdr.errors import TfxdrError


class PipelineError(TfxdrError):
    """A pipeline cannot run: a bad config, a component whose inputs are missing."""


class AnomaliesFound(PipelineError):
    """The data does not match the schema; the pipeline stops before training.

    Args:
        anomalies: one line per anomaly, each naming its column and its rows.
        path: where the anomalies artifact was written.
    """

    def __init__(self, anomalies: list[str], path: str):
        super().__init__(f"{len(anomalies)} anomal{'y' if len(anomalies) == 1 else 'ies'} in "
                         f"the data (written to {path}): " + "; ".join(anomalies))
        self.anomalies = anomalies
