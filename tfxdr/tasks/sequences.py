"""Next-item recommendation from behaviour sequences, per domain (RecGURU's protocol).

Users of either domain take part: a user may have rows in one domain only.
Per user and domain, the last item by time is test and the one before it
validation (leave-one-out); the rest trains.  A model sees each user's most
recent training items of every domain (the last ``max_len + 1``: inputs and
their next items) and, when scored, the user's history before the held-out
part: the training items for a validation item, training and validation items
for a test item.

Each domain is scored under two protocols:

- sampled (the paper's Table 2): the held-out item against 200 negatives
  drawn by training popularity, ONCE per run seed, saved in the run
  (``negatives/<part>-<domain>.npz``), never an item the user had before in
  that domain, however far back (fewer, the same number for every user, where a
  catalogue is too small): ``hr@K`` and ``ndcg@K``;
- full ranking over every item of the domain, every item the user had before
  masked (not only the ``max_len`` a model reads): ``full_hr@K`` and
  ``full_ndcg@K``.

A held-out item training never saw cannot be scored: it counts as a miss under
both.  Selection is on validation ``full_ndcg@10`` of the target (last) domain.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from tfxdr.data.sequences import (PAD, NextItemExamples, as_strings, length_bucketed_order,
                                  next_item_examples, sequence_batches, training_sequences)
from tfxdr.data.splits import SplitSpec
from tfxdr.errors import RunDirError
from tfxdr.features import (Feature, FeatureSpec, domain_slug, integer_ids, items_input,
                             vocabulary)
from tfxdr.metrics import RankingAccumulator, draw_sampled_negatives, load_negatives, \
    save_negatives, sampled_ranking_metrics
from tfxdr.tasks.base import Task

SEQUENCE_KS = (5, 10, 20)
NUM_NEGATIVES = 200
NEGATIVES_DIR = "negatives"
PARTS = ("val", "test")


@dataclasses.dataclass
class SequenceData:
    """Training sequences (one row per user, every domain) and the held-out examples.

    ``held_out[part][domain]`` holds that part's examples of the domain and
    ``negatives[part][domain]`` their sampled negatives (item positions; a row
    of -1 where the held-out item is unknown).
    """

    spec: FeatureSpec
    users: np.ndarray
    train: dict[str, np.ndarray]
    held_out: dict[str, dict[str, NextItemExamples]]
    negatives: dict[str, dict[str, np.ndarray]]
    scoring: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def domains(self) -> tuple[str, ...]:
        return self.spec.domains

    def held_out_rows(self, part: str, domain: str, keep: np.ndarray) -> "SequenceData":
        """The same data scoring only ``part``'s users of ``domain`` that ``keep``
        selects (a mask or row indices), with their saved negatives: the
        evaluation of a subgroup of users, other domains and parts left out."""
        rows = {d: keep if d == domain else np.zeros(0, dtype=np.int64) for d in self.domains}
        held = {part: {d: self.held_out[part][d].rows(rows[d]) for d in self.domains}}
        negatives = {part: {d: None if n is None else n[rows[d]]
                            for d, n in self.negatives[part].items()}}
        return SequenceData(self.spec, self.users, self.train, held, negatives)

    def scoring_set(self, part: str, domain: str) -> "ScoringSet":
        """The held-out examples as the evaluation reads them, converted once: a run
        scores the same users after every epoch."""
        key = (part, domain)
        if key not in self.scoring:
            self.scoring[key] = ScoringSet.of(self.spec, self.held_out[part][domain])
        return self.scoring[key]


@dataclasses.dataclass
class ScoringSet:
    """One part's held-out examples of a domain, ready to score: item positions of
    the targets and of every item each user had before, users by history length.
    The requests' raw ids stay as the examples hold them; ``requests`` hands the
    model one batch at a time."""

    order: np.ndarray
    users: np.ndarray
    histories: dict[str, np.ndarray]
    targets: np.ndarray
    seen_positions: np.ndarray

    def requests(self, rows: np.ndarray) -> dict[str, tf.Tensor]:
        """The model's inputs for ``rows``: every domain's recent raw ids and the user."""
        inputs = {items_input(d): tf.constant(as_strings(h[rows]))
                  for d, h in self.histories.items()}
        inputs["user_id"] = tf.constant(self.users[rows])
        return inputs

    @classmethod
    def of(cls, spec: FeatureSpec, held: NextItemExamples) -> "ScoringSet":
        positions = positions_of(spec, held.domain)
        own = held.histories[held.domain]
        # Users in order of history length: a batch of short histories is cut short.
        order = np.argsort((own != PAD).sum(axis=1), kind="stable")
        return cls(order=order, users=held.users.astype(str),
                   histories=held.histories,
                   targets=positions(held.targets),
                   seen_positions=list_positions(positions, held.seen))


def sequence_length(config) -> int:
    """Items per training row: the model's ``max_len`` inputs and one more, the
    next item of the last input."""
    return config.max_len + 1


class SequenceTask(Task):
    """Prepares per-domain sequences and scores next-item recommendation."""

    name = "sequences"
    default_split = SplitSpec(kind="leave_one_out")
    summary_metrics = ("hr@10", "ndcg@10", "full_hr@10", "full_ndcg@10")
    default_seeds = 3
    paired_metric = "full_ndcg@10"

    def __init__(self, ks: tuple[int, ...] = SEQUENCE_KS, eval_batch_users: int = 512):
        self.ks = ks
        self.eval_batch_users = eval_batch_users

    def feature_spec(self, interactions, split_frame, config) -> FeatureSpec:
        return item_sequence_spec(interactions.domains, split_frame)

    def write_inputs(self, run_dir: Path, split_frame: pd.DataFrame, spec: FeatureSpec,
                     config, seed: int) -> None:
        """Draws the sampled protocol's negatives once and saves them in the run."""
        train = split_frame[split_frame["split"] == "train"]
        directory = Path(run_dir) / NEGATIVES_DIR
        directory.mkdir(parents=True, exist_ok=True)
        for k, domain in enumerate(spec.domains):
            positions = positions_of(spec, domain)
            counts = np.bincount(positions(train.loc[train["domain"] == domain, "item_id"]),
                                 minlength=len(spec[items_input(domain)].vocabulary))
            for p, part in enumerate(PARTS):
                held = next_item_examples(split_frame, spec.domains, domain, part,
                                          sequence_length(config))
                targets = positions(held.targets)
                known = np.flatnonzero(targets >= 0)
                exclude = [row[row >= 0] for row in list_positions(positions, held.seen)[known]]
                # A catalogue too small for 200 gives every user the same smaller count.
                width = min([NUM_NEGATIVES] + [len(counts) - len(np.union1d(row, [target]))
                                               for row, target in zip(exclude, targets[known])])
                negatives = np.full((len(held), width), -1, dtype=np.int64)
                if len(known) and width > 0:
                    draw_seed = int(np.random.SeedSequence([seed, k, p]).generate_state(1)[0])
                    negatives[known] = draw_sampled_negatives(
                        targets[known], len(counts), width, draw_seed, "popularity",
                        popularity=counts, exclude=exclude)
                save_negatives(directory / _negatives_name(part, domain), negatives,
                               seed=seed, strategy="popularity")

    def prepare(self, split_frame: pd.DataFrame, spec: FeatureSpec, config,
                run_dir: Path | None = None) -> SequenceData:
        length = sequence_length(config)
        users, train = training_sequences(split_frame, spec.domains, length)
        held_out = {part: {d: next_item_examples(split_frame, spec.domains, d, part, length)
                           for d in spec.domains} for part in PARTS}
        negatives = {part: {d: self._load_negatives(run_dir, part, d, len(held_out[part][d]))
                            for d in spec.domains} for part in PARTS}
        return SequenceData(spec, users, {items_input(d): rows for d, rows in train.items()},
                            held_out, negatives)

    @staticmethod
    def _load_negatives(run_dir, part: str, domain: str, rows: int) -> np.ndarray | None:
        if run_dir is None:
            return None
        path = Path(run_dir) / NEGATIVES_DIR / _negatives_name(part, domain)
        if not path.is_file():
            raise RunDirError(f"{path}: missing; the run directory is incomplete")
        negatives, _ = load_negatives(path)
        if negatives.shape[0] != rows:
            raise RunDirError(f"{path}: holds {negatives.shape[0]} rows, the split has {rows} "
                              f"{part} users of {domain}")
        return negatives

    def train_dataset(self, data: SequenceData, batch_size: int, seed: int,
                      domains: tuple[str, ...] | None = None) -> tf.data.Dataset:
        """Batches of users with similar history lengths (the model trims the padding
        every row of a batch shares), in a seeded order."""
        lengths = sum((rows != PAD).sum(axis=1) for rows in data.train.values())
        return sequence_batches({"user_id": data.users, **data.train},
                                length_bucketed_order(lengths, batch_size, seed), batch_size)

    def num_train_examples(self, data: SequenceData, domains=None) -> int:
        return len(data.users)

    def evaluate(self, model, data: SequenceData, part: str) -> dict[str, dict[str, float]]:
        """``{domain: {"hr@10": sampled, ..., "full_ndcg@10": full ranking, ...}}``.

        Raises:
            RunDirError: the data was prepared without its run (no sampled negatives).
        """
        if data.negatives[part][data.domains[0]] is None:
            raise RunDirError("the sequence task scores against the negatives saved in the "
                              "run: prepare the data with its run directory")
        out = {}
        for k, domain in enumerate(data.domains):
            if not len(data.held_out[part][domain]):
                continue
            held = data.scoring_set(part, domain)
            targets, seen = held.targets, held.seen_positions
            accumulator = RankingAccumulator(ks=self.ks, metrics=("hr", "ndcg"))
            positive, negative = [], []
            scorer = model.next_item_scorer(k)
            for start in range(0, len(targets), self.eval_batch_users):
                rows = held.order[start:start + self.eval_batch_users]
                scores = np.asarray(scorer(held.requests(rows)), dtype=np.float32)
                target = targets[rows]
                num_items = scores.shape[1]
                # An unknown held-out item is a position past the catalogue: never hit.
                relevant = [np.array([t if t >= 0 else num_items]) for t in target]
                exclude = [s[(s >= 0) & (s != t)] for s, t in zip(seen[rows], target)]
                accumulator.update(scores, relevant, exclude=exclude)
                padded = np.concatenate([scores, np.full((len(scores), 1), -np.inf,
                                                         np.float32)], axis=1)
                positive.append(padded[np.arange(len(target)),
                                       np.where(target >= 0, target, num_items)])
                negative.append(np.take_along_axis(padded, np.where(
                    data.negatives[part][domain][rows] >= 0,
                    data.negatives[part][domain][rows], num_items), axis=1))
            sampled = sampled_ranking_metrics(np.concatenate(positive),
                                              np.concatenate(negative), ks=self.ks)
            full = {f"full_{name}": value for name, value in accumulator.result().items()}
            out[domain] = {**sampled, **full, "users": float(len(targets))}
        return out

    def selection_score(self, metrics: dict[str, dict[str, float]], data: SequenceData,
                        metric: str = "full_ndcg@10") -> float:
        """Validation ``metric`` of the target (last) domain."""
        return float(metrics[data.domains[-1]][metric])

    def serving_module(self, model, data: SequenceData, top_k: int | None = None):
        from tfxdr.export.sequences import SequenceServing

        module = SequenceServing(model, top_k or model.config.top_k)
        return module, module.signatures()

    def warmup_requests(self, module, data: SequenceData) -> list:
        """Every signature on the first validation users of its domain."""
        return module.warmup_requests({d: data.held_out["val"][d].histories[d]
                                       for d in data.domains})


def item_sequence_spec(domains, split_frame: pd.DataFrame) -> FeatureSpec:
    """Per domain, its items that training rows hold; and the users who have any."""
    train = split_frame[split_frame["split"] == "train"]

    def dtype(column: str) -> str:  # how requests may carry the raw ids
        return "int64" if integer_ids(split_frame[column].astype(str).unique()) else "string"

    features = [Feature("user_id", "categorical", entity="user", dtype=dtype("user_id"),
                        vocabulary=vocabulary(train["user_id"]))]
    features += [Feature(items_input(d), "multi_valued", domain=d, entity="item",
                         dtype=dtype("item_id"),
                         vocabulary=vocabulary(train.loc[train["domain"] == d, "item_id"]))
                 for d in domains]
    return FeatureSpec(tuple(domains), tuple(features))


def _negatives_name(part: str, domain: str) -> str:
    return f"{part}-{domain_slug(domain)}.npz"


def list_positions(positions, lists: np.ndarray) -> np.ndarray:
    """Per row, the positions of the raw ids ``lists[row]`` holds (-1: unknown)."""
    flat = positions(np.concatenate([*lists, np.zeros(0, dtype=str)]))
    ends = np.cumsum([len(items) for items in lists], dtype=np.int64)
    out = np.empty(len(lists), dtype=object)
    for row, end in enumerate(ends):
        out[row] = flat[end - len(lists[row]):end]
    return out


def positions_of(spec: FeatureSpec, domain: str):
    """Raw ids -> positions among the domain's known items (-1: unknown or padding)."""
    index = pd.Index(spec[items_input(domain)].vocabulary)

    def positions(raw) -> np.ndarray:
        return index.get_indexer(pd.Index(np.asarray(raw).astype(str))).astype(np.int64)

    return positions
