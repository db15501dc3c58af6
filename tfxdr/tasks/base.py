"""The task protocol: what a family of models needs from the data and how it is scored.

A task turns a split of interactions into examples for one family of models
(click translation, CTR, ...).  It keeps no state between calls: everything a
call needs is in its arguments or in the prepared data it returned.  Adding a
family is one new module with one :class:`Task` subclass.

The order of calls (see :func:`tfxdr.experiment.train`):

1. ``restrict(interactions)``: the interactions the protocol evaluates on;
2. the split (``default_split`` with the run's seed), then
   ``select_training_rows(split_frame, domains, config, seed)``;
3. ``feature_spec(interactions, split_frame, config)``: vocabularies, buckets
   and entity tables from the training rows only;
4. ``write_inputs(run_dir, split_frame, spec, config, seed)``: anything else the
   protocol fixes once per run and saves in it (sampled negatives);
   ``prepare(split_frame, spec, config, run_dir)`` -> the prepared data every
   later call takes;
5. ``train_dataset`` for ``model.fit``, ``evaluate`` on ``val`` every epoch and
   ``selection_score`` on the result, ``evaluate`` on ``test`` once;
6. ``serving_module(model, data)`` for the export.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import tensorflow as tf

from tfxdr.data.cold_start import CONTEXT
from tfxdr.data.domains import Interactions
from tfxdr.data.splits import SplitSpec
from tfxdr.errors import DataError
from tfxdr.features import FeatureSpec


class Task(abc.ABC):
    """Base of every task; see the module docstring.

    Class attributes:
        name: the family's name (``ModelSpec.task``).
        default_split: the protocol's split (the run's seed and fractions replace
            its own).
        summary_metrics: metrics of the bench's summary table.
        default_seeds: seeds a bench runs by default.
        paired_metric: the metric of the bench's paired differences.
        reads_context: whether the task reads a split's ``context`` rows (a cold-start
            split's history-only rows); a task that does not refuses them.
    """

    name: ClassVar[str]
    default_split: ClassVar[SplitSpec]
    summary_metrics: ClassVar[tuple[str, ...]]
    default_seeds: ClassVar[int]
    paired_metric: ClassVar[str]
    reads_context: ClassVar[bool] = False

    def restrict(self, interactions: Interactions) -> Interactions:
        """The interactions the protocol uses (default: all of them)."""
        return interactions

    def check_split(self, split_frame: pd.DataFrame, where: str) -> None:
        """Refuses ``context`` rows the task would not read: dropping them silently
        would train on less than the given split says."""
        if not self.reads_context and (split_frame["split"] == CONTEXT).any():
            count = int((split_frame["split"] == CONTEXT).sum())
            raise DataError(f"{where}: {count} rows have split value 'context', which only "
                            f"a cold-start CTR split uses; the {self.name} task would not read "
                            "them: expected train, val or test")

    def select_training_rows(self, split_frame: pd.DataFrame, domains: tuple[str, ...],
                             config, seed: int) -> pd.DataFrame:
        """The split with the training rows ``config`` leaves out removed (default: none)."""
        return split_frame

    @abc.abstractmethod
    def feature_spec(self, interactions: Interactions, split_frame: pd.DataFrame,
                     config) -> FeatureSpec:
        """The run's features, from the training rows of ``split_frame`` only."""

    def write_inputs(self, run_dir: Path, split_frame: pd.DataFrame, spec: FeatureSpec,
                     config, seed: int) -> None:
        """Saves in ``run_dir`` what the protocol draws once per run (default: nothing)."""

    @abc.abstractmethod
    def prepare(self, split_frame: pd.DataFrame, spec: FeatureSpec, config,
                run_dir: Path | None = None) -> Any:
        """The examples of every part of the split, ready for the calls below
        (``run_dir``: where :meth:`write_inputs` saved its part)."""

    @abc.abstractmethod
    def train_dataset(self, data, batch_size: int, seed: int,
                      domains: tuple[str, ...] | None = None) -> tf.data.Dataset:
        """Shuffled training batches of raw requests (of ``domains``' rows only, if set)."""

    @abc.abstractmethod
    def num_train_examples(self, data, domains: tuple[str, ...] | None = None) -> int:
        """Examples in one epoch of :meth:`train_dataset`."""

    @abc.abstractmethod
    def evaluate(self, model, data, part: str) -> dict[str, dict[str, float]]:
        """``{key: {metric: value}}`` of the model on ``part`` (``val`` or ``test``)."""

    @abc.abstractmethod
    def selection_score(self, metrics: dict[str, dict[str, float]], data) -> float:
        """One number from validation metrics, higher is better: the checkpoint's choice."""

    @abc.abstractmethod
    def serving_module(self, model, data, top_k: int | None = None) -> tuple[tf.Module, dict]:
        """The SavedModel module of a trained model and its named signatures (a top-k
        signature returns ``top_k`` items; default: the model config's ``top_k``)."""

    def clicks(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of a split that are clicks: what a request's histories hold
        (default: every row)."""
        return frame

    def warmup_requests(self, module, data) -> list:
        """Requests of validation users for every signature of ``module``, for TF
        Serving's warmup file (:mod:`tfxdr.export.warmup`); default: none."""
        return []
