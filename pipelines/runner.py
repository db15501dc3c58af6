"""The local runner: every component in order, each cached, stopping on anomalies."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from tfxdr_pipelines.component import Component, Execution, execute
from tfxdr_pipelines.errors import PipelineError
from tfxdr_pipelines.evaluator import EVALUATOR
from tfxdr_pipelines.example_gen import EXAMPLE_GEN
from tfxdr_pipelines.pusher import PUSHER
from tfxdr_pipelines.schema import EXAMPLE_VALIDATOR, SCHEMA_GEN, check_anomalies
from tfxdr_pipelines.statistics import STATISTICS_GEN
from tfxdr_pipelines.trainer import TRAINER
from tfxdr_pipelines.transform import TRANSFORM

COMPONENTS: tuple[Component, ...] = (EXAMPLE_GEN, STATISTICS_GEN, SCHEMA_GEN, EXAMPLE_VALIDATOR,
                                     TRANSFORM, TRAINER, EVALUATOR, PUSHER)
BY_NAME = {component.name: component for component in COMPONENTS}


def run_step(name: str, config, output_root: Path, beam_args: list | None = None,
             log: Callable[[str], None] = print) -> Execution:
    """Runs one component on the latest outputs of those it reads (how an
    orchestrator runs the pipeline: one step per task, all on one output root).

    Raises:
        PipelineError: an unknown component, or one whose inputs have not been made.
        AnomaliesFound: the validator found anomalies.
    """
    if name not in BY_NAME:
        raise PipelineError(f"unknown component {name!r}; expected one of "
                            f"{', '.join(BY_NAME)}")
    execution = execute(BY_NAME[name], config, output_root, beam_args, log)
    if name == EXAMPLE_VALIDATOR.name:
        check_anomalies(execution)
    return execution


def run_pipeline(config, output_root: Path, beam_args: list | None = None,
                 log: Callable[[str], None] = print, until: str | None = None
                 ) -> list[Execution]:
    """Every component in order (up to and including ``until``); stops at the first
    error or anomaly, and a worker of a multi-worker Trainer after its share of the
    training."""
    if until is not None and until not in BY_NAME:
        raise PipelineError(f"unknown component {until!r}; expected one of "
                            f"{', '.join(BY_NAME)}")
    names = [c.name for c in COMPONENTS]
    names = names[:names.index(until) + 1] if until else names
    executions = []
    for name in names:
        executions.append(run_step(name, config, output_root, beam_args, log))
        if not executions[-1].published:
            break  # a worker of a training cluster: what follows is the chief's
    return executions
