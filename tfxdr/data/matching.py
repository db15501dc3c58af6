"""Multi-domain matching examples: a user's recent clicks in every domain, and the
clicks that follow them.

Training cuts each user's training clicks once in time, across all domains
together, at a seeded position drawn again every epoch: the clicks before the
cut are the inputs (the last ``length`` of each domain), the first
``num_positives`` after it in each domain are that domain's positives.  The
inputs never hold a positive, so a model cannot score a click by finding it in
its input, and every epoch shows the user's history from another point in time.

The held-out parts are scored the same way: a user's validation (test) clicks
of a domain against the user's clicks before that part, in every domain.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd

from tfxdr.data.sequences import (NextItemExamples, earliest_rows, histories_before,
                                  recent_rows, time_ordered)


class HeldOutClicks(NextItemExamples):
    """Users of one domain with clicks in a held-out part: those clicks and the past.

    As :class:`NextItemExamples`, but ``targets[i]`` holds every distinct raw id
    user i clicked in ``domain`` in the part, in time order (an object array of
    arrays); ``histories[d]`` the user's last raw ids of domain ``d`` before the
    part; ``seen[i]`` every distinct item of ``domain`` before it.
    """


def held_out_clicks(split_frame: pd.DataFrame, domains: Sequence[str], domain: str,
                    part: str, length: int) -> HeldOutClicks:
    """The users with clicks of ``domain`` in ``part`` (``val`` or ``test``), sorted,
    with their histories of every domain from the parts before it."""
    frame = time_ordered(split_frame)
    held = frame[(frame["split"] == part) & (frame["domain"] == domain)]
    clicks = held.groupby(held["user_id"].astype(str), sort=True)["item_id"].agg(
        lambda items: pd.unique(items.astype(str).to_numpy()))
    users = clicks.index.to_numpy().astype(object)
    targets = np.empty(len(users), dtype=object)
    targets[:] = list(clicks.to_numpy())
    histories, seen = histories_before(frame, domains, domain, part, users, length)
    return HeldOutClicks(domain, users, targets, histories, seen)


@dataclasses.dataclass
class CutExamples:
    """One epoch's training examples: per user, the clicks before a cut and after it.

    ``inputs[d]``: [U, length] the last clicks of domain ``d`` before the cut,
    left-padded; ``positives[d]``: [U, num_positives] the first clicks of ``d``
    from the cut on, right-padded (a row of padding where there are none);
    ``clicked[d]``: [U, most clicks of a user in d] every training click of ``d``
    before and after the cut, right-padded: what a negative must not be.
    """

    users: np.ndarray
    inputs: dict[str, np.ndarray]
    positives: dict[str, np.ndarray]
    clicked: dict[str, np.ndarray]


def cut_examples(train: pd.DataFrame, domains: Sequence[str], length: int,
                 num_positives: int, seed: int) -> CutExamples:
    """Cuts every user of ``train`` (training rows of every domain) with two clicks
    or more once, uniformly between their first and last click (at least one on
    each side), by a generator seeded with ``seed``; users with one click give
    no example.  Clicks at the same timestamp are ordered by item id, so the cut
    may fall between them."""
    frame = time_ordered(train[train["domain"].isin(domains)])
    user_of = frame["user_id"].astype(str).to_numpy()
    users, first, counts = np.unique(user_of, return_index=True, return_counts=True)
    rank = np.arange(len(frame)) - np.repeat(first, counts)  # rows of a user are contiguous
    rng = np.random.default_rng(seed)
    cut = rng.integers(1, np.maximum(counts, 2))  # a draw for every user keeps the stream fixed
    before = rank < np.repeat(cut, counts)
    users = users[counts >= 2].astype(object)
    domain_of = frame["domain"].to_numpy()
    inputs, positives, clicked = {}, {}, {}
    for d in domains:
        own = domain_of == d
        inputs[d] = recent_rows(frame[own & before], users, length)
        positives[d] = earliest_rows(frame[own & ~before], users, num_positives)
        most = int(pd.Series(user_of[own]).value_counts().max()) if own.any() else 1
        clicked[d] = earliest_rows(frame[own], users, most)
    return CutExamples(users, inputs, positives, clicked)
