"""Cross-domain CTR prediction (DADIN's and DAAN's protocol), over n >= 2 domains.

``--domains SOURCE,...,TARGET``: the last domain is the (sparse) target, the
others are sources; with two, the first is the rich source.  Every rated event
is an instance with a click label; the split is DADIN's cold-start resampling,
so most evaluated users were never seen in the target domain's training data.
Models output a click probability; they are scored by AUC and logloss per
domain, and the checkpoint is chosen on the validation AUC of the target (of
the last domain the model trains on, see ``train_domains``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.config import resolve_train_domains
from tfxdr.data.ctr import DOMAIN, LABEL, CtrInstances, CtrOptions, build_ctr_instances, \
    click_labels, ctr_feature_spec
from tfxdr.data.splits import SplitSpec
from tfxdr.errors import DataError
from tfxdr.export.ctr import CtrServing
from tfxdr.features import FeatureSpec
from tfxdr.metrics import auc, logloss
from tfxdr.tasks.base import Task

PARTS = ("train", "val", "test")


@dataclasses.dataclass
class CtrData:
    """Instances of each part, and the domain whose validation AUC selects."""

    spec: FeatureSpec
    parts: dict[str, CtrInstances]
    selection_domain: str

    @property
    def domains(self) -> tuple[str, ...]:
        return self.spec.domains


class CtrTask(Task):
    """Prepares CTR instances and scores AUC / logloss per domain."""

    name = "ctr"
    default_split = SplitSpec(kind="cold_start")
    summary_metrics = ("auc", "logloss")
    default_seeds = 5
    paired_metric = "auc"
    reads_context = True

    def __init__(self, options: CtrOptions = CtrOptions(), eval_batch_size: int = 4096):
        self.options = options
        self.eval_batch_size = eval_batch_size

    def select_training_rows(self, split_frame: pd.DataFrame, domains: tuple[str, ...],
                             config, seed: int) -> pd.DataFrame:
        """Applies the model's ``train_domains`` and ``target_fraction``.

        Left-out rows are removed from the run, so they are neither instances
        nor history; evaluation rows always stay.
        """
        trained = resolve_train_domains(config.train_domains, domains)
        domain = split_frame[DOMAIN].to_numpy()
        not_evaluated = ~split_frame["split"].isin(["val", "test"]).to_numpy()
        drop = not_evaluated & ~np.isin(domain, trained)
        if config.target_fraction < 1.0:
            rows = np.flatnonzero((split_frame["split"] == "train").to_numpy()
                                  & (domain == domains[-1]) & ~drop)
            kept = np.random.default_rng(seed).permutation(len(rows))[
                : int(round(config.target_fraction * len(rows)))]
            dropped_rows = np.ones(len(rows), bool)
            dropped_rows[kept] = False
            drop[rows[dropped_rows]] = True
        return split_frame[~drop]

    def feature_spec(self, interactions, split_frame, config) -> FeatureSpec:
        return ctr_feature_spec(interactions, split_frame, self.options,
                                config.continuous_buckets)

    def prepare(self, split_frame: pd.DataFrame, spec: FeatureSpec, config,
                run_dir=None) -> CtrData:
        parts = {part: build_ctr_instances(split_frame, spec.domains, part, self.options)
                 for part in PARTS}
        trained = resolve_train_domains(config.train_domains, spec.domains)
        return CtrData(spec, parts, trained[-1])

    def train_dataset(self, data: CtrData, batch_size: int, seed: int,
                      domains: tuple[str, ...] | None = None) -> tf.data.Dataset:
        return data.parts["train"].dataset(batch_size, shuffle=True, seed=seed, domains=domains)

    def num_train_examples(self, data: CtrData, domains=None) -> int:
        return len(data.parts["train"].rows_of(domains))

    def predict(self, model, instances: CtrInstances) -> np.ndarray:
        """Click probabilities of every instance, in order."""
        dataset = instances.dataset(self.eval_batch_size, shuffle=False)
        outputs = [np.asarray(model(features, training=False)).reshape(-1)
                   for features, _ in dataset]
        return np.concatenate(outputs) if outputs else np.empty(0)

    def evaluate(self, model, data: CtrData, part: str) -> dict[str, dict[str, float]]:
        """``{domain: {"auc", "logloss", "instances"}}`` for each domain of ``part``
        whose instances have both labels."""
        instances = data.parts[part]
        probabilities = self.predict(model, instances)
        labels = instances.columns[LABEL]
        results = {}
        for domain in data.domains:
            rows = instances.columns[DOMAIN] == domain
            if not rows.any() or len(np.unique(labels[rows])) < 2:
                continue
            results[domain] = {"auc": auc(labels[rows], probabilities[rows]),
                               "logloss": logloss(labels[rows], probabilities[rows]),
                               "instances": float(rows.sum())}
        return results

    def selection_score(self, metrics: dict[str, dict[str, float]], data: CtrData) -> float:
        """The validation AUC of the target domain (of the last domain trained on)."""
        domain = data.selection_domain
        if domain not in metrics:
            raise DataError(f"the validation split has no {domain!r} instances with both "
                            "click labels; no checkpoint can be selected")
        return float(metrics[domain]["auc"])

    def serving_module(self, model, data: CtrData, top_k: int | None = None):
        module = CtrServing(model)
        return module, module.signatures()

    def clicks(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows labelled clicks (``label``, or ``rating >= label_threshold``)."""
        return frame[click_labels(frame, self.options.label_threshold) == 1]

    def warmup_requests(self, module, data: CtrData) -> list:
        """``serving_default`` on the first validation instances, as training lays
        them out."""
        features, _ = next(iter(data.parts["val"].dataset(8, shuffle=False)))
        return module.warmup_requests({
            name: np.char.decode(value.numpy().astype(bytes)) if value.dtype == tf.string
            else value.numpy() for name, value in features.items()})
