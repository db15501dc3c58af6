"""One protocol for every family: held-out users rank every item of a target domain.

Each task has its own protocol (click translation holds out whole users, CTR a
cold-start target day, sequences each user's last item, matching a time cut),
so their pages cannot be compared.  Here one seeded draw of the users who
clicked in both domains loses its target-domain rows; every model trains, by
its own task and validation protocol, on what is left; then each held-out user,
given the clicks the training rows still hold (their source-domain clicks),
ranks every item of the target domain through the model's serving signatures,
as :mod:`tfxdr.recommend` does:

- click translation from the source click vector (``<source>_to_<target>``);
- matching from the user tower over every domain's clicks (``retrieve_<target>``);
- sequences from the user's sequence in the target domain (``next_item_<target>``
  reads that domain's items only: empty for these users, so a sequence model ranks by
  what it learned for an empty sequence);
- CTR by scoring every target item as a candidate (``serving_default``).

The relevant items are all of the user's hidden target clicks (every rating of
the source data, as in the click protocol; a CTR model is trained to tell a
rating above its label threshold from one below, so it is judged on a task
next to the one it learned: stated with its results).  A hidden item that no
training row has is in no model's catalogue: it counts as relevant and can
never be hit, the same for every model.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from tfxdr.data.domains import Interactions
from tfxdr.errors import DataError
from tfxdr.metrics.ranking import ranking_metrics_per_user

KS = (10, 50)
METRICS = ("recall", "ndcg")


@dataclasses.dataclass
class HeldOut:
    """One seed's draw: the rows models train on and what the held-out users must find.

    ``users`` are sorted, so every model's per-user metrics line up (paired tests);
    ``catalogue`` is the target domain's items in the training rows, sorted.
    """

    training: Interactions
    hidden: pd.DataFrame  # user_id, item_id: the held-out users' target clicks
    users: np.ndarray
    catalogue: np.ndarray
    source: str
    target: str


def hold_out(interactions: Interactions, seed: int, fraction: float = 0.25) -> HeldOut:
    """Hides the target-domain rows (the second domain's) of ``fraction`` of the users
    who clicked in both domains, drawn by a seeded permutation of sorted ids."""
    if len(interactions.domains) != 2:
        raise DataError(f"the leaderboard takes exactly 2 domains, source and target; got "
                        f"{len(interactions.domains)} ({', '.join(interactions.domains)})",
                        field="domains")
    if not 0 < fraction < 1:
        raise DataError(f"fraction {fraction:g} is invalid: expected a share in (0, 1)",
                        field="fraction")
    source, target = interactions.domains
    frame = interactions.frame
    in_target = frame["domain"] == target
    both = np.sort(np.intersect1d(frame.loc[~in_target, "user_id"].unique(),
                                  frame.loc[in_target, "user_id"].unique()))
    drawn = both[np.random.default_rng(seed).permutation(len(both))[
        :int(round(fraction * len(both)))]]
    if not len(drawn):
        raise DataError(f"{interactions.where}: {len(both)} users clicked in both {source} and "
                        f"{target}: too few to hold out {fraction:g} of them", field="fraction")
    hidden = frame["user_id"].isin(drawn) & in_target
    training = dataclasses.replace(interactions, frame=frame[~hidden].reset_index(drop=True))
    catalogue = np.sort(training.frame.loc[training.frame["domain"] == target, "item_id"]
                        .astype(str).unique())
    return HeldOut(training, frame.loc[hidden, ["user_id", "item_id"]].reset_index(drop=True),
                   np.sort(drawn).astype(object), catalogue.astype(object), source, target)


def recommend_held_out(run_dir: Path, held: HeldOut, k: int = max(KS),
                       batch_size: int = 256) -> pd.DataFrame:
    """The top ``k`` target items of every held-out user from a finished run
    (``user_id, domain, rank, item_id, score``), its histories the clicks of the
    training rows as the run's task defines clicks."""
    from tfxdr.experiment import load_run
    from tfxdr.recommend import (ctr_batches, export_domains, export_run, histories,
                                 ranked_batches)

    run = load_run(run_dir)
    k = min(k, len(held.catalogue))  # a small catalogue: ranks beyond it stay empty
    clicks = run.task.clicks(held.training.frame)
    with tempfile.TemporaryDirectory(prefix="tfxdr-leaderboard-") as scratch:
        recommender = export_run(run, k, Path(scratch))
        domains = export_domains(recommender, sorted(clicks["domain"].unique()))
        history = histories(clicks, domains)
        if recommender.family() == "ctr":
            candidates = pd.DataFrame({
                "user_id": np.repeat(held.users, len(held.catalogue)),
                "item_id": np.tile(held.catalogue, len(held.users)),
                "domain": held.target})
            # Every candidate row carries its user's histories: batches of whole users,
            # about ``batch_size`` x 16 rows.
            batches = ctr_batches(recommender, candidates, history, domains, k,
                                  16 * batch_size)
        else:
            batches = ranked_batches(recommender, held.users, [held.target], history, domains,
                                     k, batch_size, source=held.source)
        return pd.concat(list(batches), ignore_index=True)


def score(recommended: pd.DataFrame, held: HeldOut, ks=KS,
          metrics=METRICS) -> dict[str, np.ndarray]:
    """Per-user metrics (``recall@10`` ...) in the order of ``held.users``."""
    index = pd.Index(held.catalogue)
    user_row = pd.Index(held.users)
    rows = user_row.get_indexer(recommended["user_id"].astype(str))
    items = index.get_indexer(recommended["item_id"].astype(str))
    if (rows < 0).any() or (items < 0).any():
        which = "user" if (rows < 0).any() else "item"
        value = recommended.loc[(rows if which == "user" else items) < 0,
                                f"{which}_id"].iloc[0]
        raise DataError(f"recommendations: {which} {value!r} is not a held-out {which} of "
                        f"{held.target}", field=f"{which}_id")
    ranks = recommended["rank"].to_numpy() - 1
    top = np.full((len(held.users), max(ks)), -1, dtype=np.int64)
    keep = ranks < max(ks)
    top[rows[keep], ranks[keep]] = items[keep]
    relevant = [[] for _ in held.users]
    unknown = len(index)  # an item no training row has: relevant, never recommended
    for user, item in zip(user_row.get_indexer(held.hidden["user_id"].astype(str)),
                          index.get_indexer(held.hidden["item_id"].astype(str))):
        if item < 0:
            item, unknown = unknown, unknown + 1
        relevant[user].append(item)
    return ranking_metrics_per_user(top, relevant, ks, metrics)
