"""Multi-domain matching: a domain's next clicks retrieved from the user's clicks in
every domain (AFT's protocol), for n >= 2 domains.

Every interaction is a click (``--min-rating`` keeps those rated at least that;
the paper takes ratings >= 3).  The split is chronological per user over all
domains together: the earliest share of a user's clicks trains, the next is
validation, the last test.  One cut in time per user, not per domain, so that
nothing later than a user's held-out clicks trains in any domain; the share
held out in each domain varies with when the user clicked it.

Training draws each epoch a new cut in every user's training clicks
(:func:`tfxdr.data.matching.cut_examples`): the clicks before it are the
inputs, the first ``num_positives`` after it in each domain the positives
(``positives_<domain>``), and every training click of the domain, before the
cut or after it, is kept from being drawn as a negative (``clicked_<domain>``);
both are read by training only.

Each domain is scored on the users with clicks of it in the part, against the
user's clicks before the part in every domain (the last ``max_len`` of each):
``recall@20/50/200`` over ALL the domain's items with every item the user
clicked before masked, and ``auc`` of the part's clicks against every item not
clicked before (but the held-out ones).  A held-out item training never saw
counts as a click that is never retrieved.  ``mean of domains`` holds each
metric's unweighted mean over the domains; selection is on its validation
``recall@50``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.data.matching import HeldOutClicks, cut_examples, held_out_clicks
from tfxdr.data.sequences import PAD, length_bucketed_order, sequence_batches, time_ordered
from tfxdr.data.splits import SplitSpec
from tfxdr.features import FeatureSpec, clicked_key, items_input, positives_key
from tfxdr.metrics import RankingAccumulator, per_user_auc
from tfxdr.tasks.base import Task
from tfxdr.tasks.sequences import ScoringSet, item_sequence_spec, list_positions, positions_of

MATCHING_KS = (20, 50, 200)
MEAN = "mean of domains"
PARTS = ("val", "test")


@dataclasses.dataclass
class MatchingData:
    """The training clicks (cut anew every epoch) and each part's held-out clicks."""

    spec: FeatureSpec
    train: pd.DataFrame
    held_out: dict[str, dict[str, HeldOutClicks]]
    length: int
    num_positives: int
    scoring: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def domains(self) -> tuple[str, ...]:
        return self.spec.domains

    def scoring_set(self, part: str, domain: str) -> ScoringSet:
        """The held-out clicks as positions, converted once: every epoch scores them."""
        key = (part, domain)
        if key not in self.scoring:
            held = self.held_out[part][domain]
            positions = positions_of(self.spec, domain)
            own = held.histories[domain]
            self.scoring[key] = ScoringSet(
                order=np.argsort((own != PAD).sum(axis=1), kind="stable"),
                users=held.users.astype(str), histories=held.histories,
                targets=list_positions(positions, held.targets),
                seen_positions=list_positions(positions, held.seen))
        return self.scoring[key]


class MatchingTask(Task):
    """Prepares per-user clicks of n domains and scores retrieval in each."""

    name = "matching"
    default_split = SplitSpec(kind="chronological")
    summary_metrics = ("recall@20", "recall@50", "recall@200", "auc")
    default_seeds = 3
    paired_metric = "recall@50"

    def __init__(self, ks: tuple[int, ...] = MATCHING_KS, eval_batch_users: int = 512):
        self.ks = ks
        self.eval_batch_users = eval_batch_users

    def feature_spec(self, interactions, split_frame, config) -> FeatureSpec:
        return item_sequence_spec(interactions.domains, split_frame)

    def prepare(self, split_frame: pd.DataFrame, spec: FeatureSpec, config,
                run_dir: Path | None = None) -> MatchingData:
        train = time_ordered(split_frame[split_frame["split"] == "train"])
        held_out = {part: {d: held_out_clicks(split_frame, spec.domains, d, part,
                                              config.max_len) for d in spec.domains}
                    for part in PARTS}
        return MatchingData(spec, train, held_out, config.max_len, config.num_positives)

    def train_dataset(self, data: MatchingData, batch_size: int, seed: int,
                      domains: tuple[str, ...] | None = None) -> tf.data.Dataset:
        """This epoch's cut of every user (``seed`` is the epoch's), batched by similar
        input lengths in a seeded order."""
        examples = cut_examples(data.train, data.domains, data.length, data.num_positives,
                                seed)
        columns = {"user_id": examples.users}
        columns.update({items_input(d): rows for d, rows in examples.inputs.items()})
        columns.update({positives_key(d): rows for d, rows in examples.positives.items()})
        clicked = {clicked_key(d): rows for d, rows in examples.clicked.items()}
        lengths = sum((rows != PAD).sum(axis=1) for rows in examples.inputs.values())
        return sequence_batches({**columns, **clicked},
                                length_bucketed_order(lengths, batch_size, seed), batch_size,
                                right_padded=tuple(clicked))

    def num_train_examples(self, data: MatchingData, domains=None) -> int:
        """Users with two training clicks or more: the ones a cut can split."""
        return int((data.train.groupby("user_id").size() >= 2).sum())

    def evaluate(self, model, data: MatchingData, part: str) -> dict[str, dict[str, float]]:
        """``{domain: {"recall@50": ..., "auc": ..., "users": ...}, "mean of domains": {...}}``."""
        out = {}
        for k, domain in enumerate(data.domains):
            if not len(data.held_out[part][domain]):
                continue
            held = data.scoring_set(part, domain)
            accumulator = RankingAccumulator(ks=self.ks, metrics=("recall",))
            aucs = []
            scorer = model.next_item_scorer(k)
            for start in range(0, len(held.users), self.eval_batch_users):
                rows = held.order[start:start + self.eval_batch_users]
                scores = np.asarray(scorer(held.requests(rows)), dtype=np.float32)
                # An unknown held-out item is a position past the catalogue, one each:
                # never hit, and every one of them counts.
                relevant = [np.where(t >= 0, t, scores.shape[1] + np.arange(len(t)))
                            for t in held.targets[rows]]
                exclude = [np.setdiff1d(s[s >= 0], t)
                           for s, t in zip(held.seen_positions[rows], held.targets[rows])]
                accumulator.update(scores, relevant, exclude=exclude)
                aucs.append(per_user_auc(scores, relevant, exclude))
            out[domain] = {**accumulator.result(), "auc": float(np.nanmean(np.concatenate(aucs))),
                           "users": float(len(held.users))}
        if out:
            out[MEAN] = {metric: float(np.mean([m[metric] for m in out.values()]))
                         for metric in next(iter(out.values())) if metric != "users"}
        return out

    def selection_score(self, metrics: dict[str, dict[str, float]], data: MatchingData,
                        metric: str = "recall@50") -> float:
        """Validation ``metric``, averaged over the domains."""
        return float(metrics[MEAN][metric])

    def serving_module(self, model, data: MatchingData, top_k: int | None = None):
        from tfxdr.export.matching import MatchingServing

        module = MatchingServing(model, top_k or model.config.top_k)
        return module, module.signatures()

    def warmup_requests(self, module, data: MatchingData) -> list:
        """Every signature on the first validation users of the first domain with any:
        one user, then eight."""
        part = next((data.held_out["val"][d] for d in data.domains
                     if len(data.held_out["val"][d])), None)
        return [] if part is None else module.warmup_requests(part.histories)
