"""Cross-domain click translation (D2D-TM's protocol), over n >= 2 domains.

Users with clicks in every domain are split 70/5/25.  Models train on the
training users' click bags.  For each validation or test user and each
ordered pair of domains (source, target), the model sees the user's clicks in
the source and ranks ALL items of the target; the user's target clicks are
the relevant items.  Held-out users' clicks are never part of training.

The catalogue of a domain is its items clicked in training: an item only
held-out users clicked is unknown to the model (a served model cannot score
it either), so it counts among a user's relevant items and can never be hit.
An item listed in both domains of a pair is not recommended back to a user who
clicked it in the source, here as in the export; it is not among that user's
relevant items either.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.data.clicks import ClickRows, click_bag_dataset, click_rows
from tfxdr.data.domains import Interactions
from tfxdr.data.splits import SplitSpec
from tfxdr.export.clicks import ClickTranslationServing
from tfxdr.features import (NUM_RESERVED, Feature, FeatureSpec, integer_ids, items_input,
                             vocabulary)
from tfxdr.metrics import RankingAccumulator
from tfxdr.tasks.base import Task

# K = 10..50 in steps of 10: the Recall@K curve of D2D-TM's Figure 4.
RECALL_CURVE_KS = (10, 20, 30, 40, 50)


def direction_key(source: str, target: str) -> str:
    return f"{source}->{target}"


@dataclasses.dataclass
class ClickData:
    """Click bags of every domain (one row per user) and the users of each part."""

    spec: FeatureSpec
    rows: dict[str, ClickRows]
    parts: dict[str, np.ndarray]

    @property
    def domains(self) -> tuple[str, ...]:
        return self.spec.domains

    def pairs(self) -> list[tuple[int, int]]:
        """Every ordered pair of domain positions."""
        return list(itertools.permutations(range(len(self.domains)), 2))


class ClickTranslationTask(Task):
    """Prepares click bags and scores cross-domain full ranking."""

    name = "clicks"
    default_split = SplitSpec(kind="users", fractions=(0.7, 0.05, 0.25))
    summary_metrics = tuple(f"{name}@{k}" for name in ("recall", "ndcg") for k in (10, 20, 50))
    default_seeds = 3
    paired_metric = "recall@50"

    def __init__(self, ks: tuple[int, ...] = RECALL_CURVE_KS, eval_batch_users: int = 1024):
        self.ks = ks
        self.eval_batch_users = eval_batch_users

    def restrict(self, interactions: Interactions) -> Interactions:
        """Keeps the users who clicked in every domain (the paper's datasets)."""
        frame = interactions.frame
        users = set(frame["user_id"])
        for domain in interactions.domains:
            users &= set(frame.loc[frame["domain"] == domain, "user_id"])
        return dataclasses.replace(interactions, frame=frame[frame["user_id"].isin(users)]
                                   .reset_index(drop=True))

    def feature_spec(self, interactions, split_frame, config) -> FeatureSpec:
        """One bag of clicked items per domain; its vocabulary is the domain's items
        that training users clicked."""
        train = split_frame[split_frame["split"] == "train"]
        seen = split_frame["item_id"].astype(str)
        dtype = "int64" if integer_ids(seen.unique()) else "string"
        features = tuple(
            Feature(items_input(d), "multi_valued", domain=d, dtype=dtype,
                    vocabulary=vocabulary(train.loc[train["domain"] == d, "item_id"]))
            for d in interactions.domains)
        return FeatureSpec(tuple(interactions.domains), features)

    def prepare(self, split_frame: pd.DataFrame, spec: FeatureSpec, config=None,
                run_dir=None) -> ClickData:
        users = np.sort(split_frame["user_id"].astype(str).unique())
        rows = {items_input(d): click_rows(split_frame[split_frame["domain"] == d], users)
                for d in spec.domains}
        user_part = split_frame.drop_duplicates("user_id").set_index("user_id")["split"]
        parts = {part: np.sort(pd.Index(users).get_indexer(
                     user_part.index[user_part.to_numpy() == part].astype(str)))
                 for part in ("train", "val", "test")}
        return ClickData(spec, rows, parts)

    def train_dataset(self, data: ClickData, batch_size: int, seed: int,
                      domains: tuple[str, ...] | None = None) -> tf.data.Dataset:
        return click_bag_dataset(data.rows, data.parts["train"], batch_size, shuffle=True,
                                 seed=seed)

    def num_train_examples(self, data: ClickData, domains=None) -> int:
        return len(data.parts["train"])

    def evaluate(self, model, data: ClickData, part: str) -> dict[str, dict[str, float]]:
        """Full-ranking metrics per ordered pair, e.g. ``{"Drama->Comedy": {"recall@50": ...}}``."""
        users = data.parts[part]
        names = [items_input(d) for d in data.domains]
        accumulators = {pair: RankingAccumulator(ks=self.ks) for pair in data.pairs()}
        for start in range(0, len(users), self.eval_batch_users):
            batch = users[start:start + self.eval_batch_users]
            bags = next(iter(click_bag_dataset(data.rows, batch, len(batch), shuffle=False)))
            for (s, t), accumulator in accumulators.items():
                scores = np.asarray(model.translate({names[s]: bags[names[s]]}, s, t))
                relevant = self._positions(model, names[t], bags[names[t]])
                # The source clicks looked up among the target's items: one listed in both
                # domains is an item the user has, never recommended back (as in the
                # export), and so neither ranked nor counted as relevant here.
                had = self._positions(model, names[t], bags[names[s]])
                relevant = [np.where(np.isin(row, have[have >= 0]), -2, row)
                            for row, have in zip(relevant, had)]
                accumulator.update(scores, _relevant(relevant, scores.shape[1]),
                                   exclude=[row[row >= 0] for row in had])
        return {direction_key(data.domains[s], data.domains[t]): accumulator.result()
                for (s, t), accumulator in accumulators.items()}

    @staticmethod
    def _positions(model, name: str, raw) -> np.ndarray:
        """Positions of raw ids among feature ``name``'s known items (-1 unknown, -2 padding)."""
        return np.asarray(model.preprocessor.lookup(name, raw)) - NUM_RESERVED

    def selection_score(self, metrics: dict[str, dict[str, float]], data=None,
                        metric: str = "recall@50") -> float:
        """Validation selection: ``metric`` summed over every ordered pair."""
        return float(sum(values[metric] for values in metrics.values()))

    def serving_module(self, model, data: ClickData, top_k: int | None = None):
        """One signature per ordered pair, ``<source>_to_<target>``; ``serving_default``
        is the first domain to the second."""
        module = ClickTranslationServing(model, top_k or model.config.top_k)
        return module, module.signatures()

    def warmup_requests(self, module, data: ClickData) -> list:
        """Every signature on the source bags of the first validation users."""
        users = data.parts["val"][:8]
        return module.warmup_requests({d: [data.rows[items_input(d)].row(u).astype(str)
                                           for u in users]
                                       for d in data.domains})


def _relevant(positions: np.ndarray, num_items: int) -> list[np.ndarray]:
    """Each row's relevant items among the catalogue's positions (a padded row of
    positions, -2 padding, -1 unknown); each unknown item becomes a distinct
    position past the catalogue, which counts as relevant and is never ranked."""
    out = []
    for row in positions:
        unknown = int((row == -1).sum())
        out.append(np.concatenate([row[row >= 0],
                                   num_items + np.arange(unknown)]).astype(np.int64))
    return out
