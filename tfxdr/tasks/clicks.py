"""Cross-domain click translation (D2D-TM's protocol).

Users with clicks in both domains are split 70/5/25.  Models train on the
training users' click-vector pairs.  For each validation or test user, the
model sees the user's clicks in the source domain and ranks ALL items of the
target domain; the user's target-domain clicks are the relevant items.  Held-out
users' clicks are never part of training.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.data.clicks import SparseRows, click_pair_dataset, sparse_rows
from tfxdr.data.domains import Interactions
from tfxdr.data.splits import SplitSpec
from tfxdr.data.vocab import Vocabularies
from tfxdr.export import ClickTranslationServing
from tfxdr.metrics import RankingAccumulator

DIRECTIONS = ("a_to_b", "b_to_a")
# K = 10..50 in steps of 10: the Recall@K curve of D2D-TM's Figure 4.
RECALL_CURVE_KS = (10, 20, 30, 40, 50)


@dataclasses.dataclass
class ClickData:
    """Click rows of both domains and the user indices of each split part."""

    domains: tuple[str, str]
    rows: tuple[SparseRows, SparseRows]
    parts: dict[str, np.ndarray]

    @property
    def sizes(self) -> dict:
        return {"num_items_a": self.rows[0].num_items, "num_items_b": self.rows[1].num_items}

    def direction_key(self, direction: str) -> str:
        a, b = self.domains
        return f"{a}->{b}" if direction == "a_to_b" else f"{b}->{a}"


class ClickTranslationTask:
    """Prepares click-vector pairs and scores cross-domain full ranking."""

    name = "clicks"
    default_split = SplitSpec(kind="users", fractions=(0.7, 0.05, 0.25))
    summary_metrics = tuple(f"{name}@{k}" for name in ("recall", "ndcg") for k in (10, 20, 50))
    default_seeds = 3
    paired_metric = "recall@50"
    needs_side_tables = False

    def __init__(self, ks: tuple[int, ...] = RECALL_CURVE_KS, eval_batch_users: int = 1024):
        self.ks = ks
        self.eval_batch_users = eval_batch_users

    def restrict(self, interactions: Interactions) -> Interactions:
        """Keeps the two domains' users who clicked in both (the paper's datasets)."""
        if len(interactions.domains) != 2:
            raise ValueError("click translation needs exactly two domains")
        frame = interactions.frame
        per_domain = [set(frame.loc[frame["domain"] == d, "user_id"]) for d in interactions.domains]
        both = per_domain[0] & per_domain[1]
        return dataclasses.replace(interactions, frame=frame[frame["user_id"].isin(both)]
                                   .reset_index(drop=True))

    def prepare(self, split_frame: pd.DataFrame, vocabs: Vocabularies,
                domains: tuple[str, ...], interactions: Interactions | None = None) -> ClickData:
        a, b = domains
        rows = (
            sparse_rows(split_frame[split_frame["domain"] == a], vocabs.users, vocabs.items[a]),
            sparse_rows(split_frame[split_frame["domain"] == b], vocabs.users, vocabs.items[b]),
        )
        user_part = split_frame.drop_duplicates("user_id").set_index("user_id")["split"]
        parts = {}
        for part in ("train", "val", "test"):
            ids = user_part.index[user_part.to_numpy() == part]
            parts[part] = np.sort(vocabs.users.index(ids))
        return ClickData((a, b), rows, parts)

    def train_dataset(self, data: ClickData, batch_size: int, seed: int) -> tf.data.Dataset:
        return click_pair_dataset(data.rows[0], data.rows[1], data.parts["train"], batch_size,
                                  shuffle=True, seed=seed)

    def example_batch(self, data: ClickData) -> dict[str, tf.Tensor]:
        """One all-zero example, to build a model's weights before loading them."""
        return {"x_a": tf.zeros((1, data.rows[0].num_items)),
                "x_b": tf.zeros((1, data.rows[1].num_items))}

    def num_train_examples(self, data: ClickData) -> int:
        return len(data.parts["train"])

    def evaluate(self, model, data: ClickData, part: str) -> dict[str, dict[str, float]]:
        """Full-ranking metrics per direction, e.g. ``{"Drama->Comedy": {"recall@50": ...}}``."""
        users = data.parts[part]
        results = {}
        for direction in DIRECTIONS:
            source, target = data.rows if direction == "a_to_b" else data.rows[::-1]
            accumulator = RankingAccumulator(ks=self.ks)
            for start in range(0, len(users), self.eval_batch_users):
                batch = users[start:start + self.eval_batch_users]
                x_source = tf.constant(source.dense(batch))
                scores = np.asarray(model.cross_domain_scores(x_source, direction))
                accumulator.update(scores, target.rows(batch))
            results[data.direction_key(direction)] = accumulator.result()
        return results

    def serving_module(self, run):
        """The SavedModel module of a loaded run and its signatures (``serving_default``
        is A -> B)."""
        items = run.vocabs.items
        module = ClickTranslationServing(run.model, items[run.domains[0]],
                                         items[run.domains[1]], run.config.top_k)
        return module, {"a_to_b": module.a_to_b, "b_to_a": module.b_to_a,
                        "serving_default": module.a_to_b}

    @staticmethod
    def selection_score(metrics: dict[str, dict[str, float]], metric: str = "recall@50") -> float:
        """Validation selection: ``metric`` summed over both directions."""
        return float(sum(values[metric] for values in metrics.values()))
