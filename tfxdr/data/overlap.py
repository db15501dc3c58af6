"""How many users two domains share: RecGURU's overlap-ratio study (its Table 3).

The paper varies the share of users present in both domains (10/30/50/75%) to
show that its user representation does not depend on them.  From a pair of
domains whose users overlap, :func:`limit_overlap` keeps a seeded share of the
common users in both domains and gives each other common user to one domain
only, half to each; users of one domain alone are untouched.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from tfxdr.data.domains import Interactions
from tfxdr.errors import DataError


def check_overlap_ratio(ratio: float | None, domains) -> None:
    """Raises DataError unless ``ratio`` is None or a share in [0, 1] of two domains' users."""
    if ratio is None:
        return
    if not 0.0 <= ratio <= 1.0:
        raise DataError(f"overlap_ratio {ratio:g} is invalid: expected a share in [0, 1]",
                        field="overlap_ratio")
    if len(domains) != 2:
        raise DataError(f"overlap_ratio needs exactly two domains; got {len(domains)} "
                        f"({', '.join(domains)})", field="overlap_ratio")


def limit_overlap(frame: pd.DataFrame, domains: tuple[str, str], ratio: float,
                  seed: int) -> pd.DataFrame:
    """The rows of ``frame`` left when only ``ratio`` of the common users stay common.

    The common users (with rows in both ``domains``), sorted, are permuted with
    ``seed``; the first ``round(ratio * n)`` keep both domains, and of the
    others the first half (rounded up) keeps the first domain's rows only, the
    rest the second's.

    Raises:
        DataError: ``ratio`` outside [0, 1], or not two domains (``field="overlap_ratio"``).
    """
    check_overlap_ratio(ratio, domains)
    first, second = domains
    users_of = {d: set(frame.loc[frame["domain"] == d, "user_id"]) for d in domains}
    common = np.array(sorted(users_of[first] & users_of[second]), dtype=object)
    order = common[np.random.default_rng(seed).permutation(len(common))]
    kept = int(round(ratio * len(common)))
    rest = order[kept:]
    halfway = (len(rest) + 1) // 2
    only_first, only_second = set(rest[:halfway]), set(rest[halfway:])
    drop = ((frame["domain"] == second) & frame["user_id"].isin(only_first)) \
        | ((frame["domain"] == first) & frame["user_id"].isin(only_second))
    return frame[~drop.to_numpy()]


def with_overlap_ratio(interactions: Interactions, ratio: float | None,
                       seed: int) -> Interactions:
    """``interactions`` reduced by :func:`limit_overlap`; as they are when ``ratio`` is None."""
    if ratio is None:
        return interactions
    return dataclasses.replace(interactions, frame=limit_overlap(
        interactions.frame, interactions.domains, ratio, seed))
