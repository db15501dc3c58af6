"""Cross-domain CTR prediction (DADIN's and DAAN's protocol).

``--domains SOURCE,TARGET``: the first domain is the rich source, the second the
sparse target.  Every rated event is an instance with a click label; the split
is DADIN's cold-start resampling, so most evaluated users were never seen in the
target domain's training data.  Models output a click probability; they are
scored by AUC and logloss per domain, and the checkpoint is chosen on the
target domain's validation AUC.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.data.ctr import (CtrInstances, CtrSpec, FieldTables, build_ctr_instances,
                            item_fields, user_fields)
from tfxdr.data.domains import Interactions
from tfxdr.data.splits import SplitSpec
from tfxdr.data.vocab import Vocabularies
from tfxdr.errors import DataError
from tfxdr.export.ctr import CtrServing
from tfxdr.metrics import auc, logloss

LABEL = "label"


@dataclasses.dataclass
class CtrData:
    """Instances of each part, the domain names in (source, target) order, and the
    per-user and per-item field tables (what a served model looks ids up in)."""

    domains: tuple[str, ...]
    parts: dict[str, CtrInstances]
    users: FieldTables
    items: FieldTables
    genres: np.ndarray

    @property
    def sizes(self) -> dict:
        """Vocabulary sizes, and each continuous field's percentiles over the training
        instances (``continuous``: name -> 101 values, 0th to 100th), which models
        that bucket a field choose their boundaries from."""
        train = self.parts["train"]
        continuous = {}
        for name, values in train.features.items():
            if name.startswith("n_"):
                known = values[np.isfinite(values)]
                continuous[name] = (np.quantile(known, np.linspace(0, 1, 101)).tolist()
                                    if len(known) else [])
        return {"fields": dict(train.field_sizes), "history_len": train.history_len,
                "num_domains": len(self.domains), "continuous": continuous}


def _features_and_label(batch: dict) -> tuple[dict, tf.Tensor]:
    features = dict(batch)
    return features, features.pop(LABEL)


class CtrTask:
    """Prepares CTR instances and scores AUC / logloss per domain."""

    name = "ctr"
    default_split = SplitSpec(kind="cold_start")
    summary_metrics = ("auc", "logloss")
    default_seeds = 5
    paired_metric = "auc"
    needs_side_tables = True

    def __init__(self, spec: CtrSpec = CtrSpec(), eval_batch_size: int = 4096):
        self.spec = spec
        self.eval_batch_size = eval_batch_size

    def restrict(self, interactions: Interactions) -> Interactions:
        if len(interactions.domains) != 2:
            raise ValueError("cross-domain CTR needs exactly two domains: SOURCE,TARGET")
        return interactions

    def select_training_rows(self, split_frame: pd.DataFrame, domains: tuple[str, ...],
                             config, seed: int) -> pd.DataFrame:
        """Applies the model's ``train_domains`` and ``target_fraction`` (if it has them).

        Left-out rows are removed from the run, so they are neither instances
        nor history; evaluation rows always stay.  A source-only model is
        selected on the source domain's validation AUC.
        """
        source, target = domains
        train_domains = getattr(config, "train_domains", "both")
        fraction = getattr(config, "target_fraction", 1.0)
        self.selection_domain = source if train_domains == "source" else target
        domain = split_frame["domain"].to_numpy()
        not_evaluated = ~split_frame["split"].isin(["val", "test"]).to_numpy()
        drop = np.zeros(len(split_frame), bool)
        if train_domains != "both":
            left_out = target if train_domains == "source" else source
            drop |= not_evaluated & (domain == left_out)
        if fraction < 1.0:
            rows = np.flatnonzero((split_frame["split"] == "train").to_numpy()
                                  & (domain == target) & ~drop)
            kept = np.random.default_rng(seed).permutation(len(rows))[
                : int(round(fraction * len(rows)))]
            dropped_rows = np.ones(len(rows), bool)
            dropped_rows[kept] = False
            drop[rows[dropped_rows]] = True
        return split_frame[~drop]

    def prepare(self, split_frame: pd.DataFrame, vocabs: Vocabularies,
                domains: tuple[str, ...], interactions: Interactions | None = None) -> CtrData:
        if interactions is None:
            raise ValueError("CTR instances need the dataset's user and item tables")
        users = user_fields(interactions, vocabs, self.spec)
        items, genres = item_fields(interactions, vocabs, self.spec)
        parts = {part: build_ctr_instances(interactions, split_frame, vocabs, part, self.spec,
                                           (users, items, genres))
                 for part in ("train", "val", "test")}
        self.target = domains[-1]
        self.selection_domain = getattr(self, "selection_domain", self.target)
        return CtrData(tuple(domains), parts, users, items, genres)

    def serving_module(self, run):
        """The SavedModel module of a loaded run; ``serving_default`` scores candidates."""
        module = CtrServing(run.model, run.vocabs, run.domains, run.prepared)
        return module, {"serving_default": module.serve}

    def train_dataset(self, data: CtrData, batch_size: int, seed: int) -> tf.data.Dataset:
        return data.parts["train"].dataset(batch_size, shuffle=True, seed=seed).map(
            _features_and_label)

    def num_train_examples(self, data: CtrData) -> int:
        return len(data.parts["train"])

    def example_batch(self, data: CtrData) -> dict[str, tf.Tensor]:
        batch = next(iter(data.parts["train"].dataset(2, shuffle=False)))
        return _features_and_label(batch)[0]

    def predict(self, model, instances: CtrInstances) -> np.ndarray:
        """Click probabilities of every instance, in order."""
        dataset = instances.dataset(self.eval_batch_size, shuffle=False).map(_features_and_label)
        outputs = [np.asarray(model(features, training=False)).reshape(-1)
                   for features, _ in dataset]
        return np.concatenate(outputs) if outputs else np.empty(0)

    def evaluate(self, model, data: CtrData, part: str) -> dict[str, dict[str, float]]:
        """``{domain: {"auc", "logloss", "instances"}}`` for each domain of ``part``."""
        instances = data.parts[part]
        probabilities = self.predict(model, instances)
        labels = instances.features[LABEL]
        results = {}
        for k, domain in enumerate(data.domains):
            rows = instances.features["domain"] == k
            if not rows.any() or len(np.unique(labels[rows])) < 2:
                continue
            results[domain] = {"auc": auc(labels[rows], probabilities[rows]),
                               "logloss": logloss(labels[rows], probabilities[rows]),
                               "instances": float(rows.sum())}
        return results

    def selection_score(self, metrics: dict[str, dict[str, float]]) -> float:
        """The validation AUC of the target domain (of the source for a source-only model)."""
        domain = self.selection_domain
        if domain not in metrics:
            raise DataError(f"the validation split has no {domain!r} instances with both "
                            "click labels; no checkpoint can be selected")
        return float(metrics[domain]["auc"])
