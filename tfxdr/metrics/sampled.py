"""Sampled ranking: one held-out positive per user against a fixed set of negatives.

The draw can be saved and reloaded so that runs are compared on identical
negatives.  Negatives scoring equal to the positive count against it, so a
constant scorer earns no credit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from tfxdr.io import atomic_file
from tfxdr.metrics._checks import (DEFAULT_KS, as_float_matrix, as_float_vector,
                                   as_index_array, as_index_lists, check_ks, positive_int)

SAMPLING_STRATEGIES: tuple[str, ...] = ("uniform", "popularity")
_REJECTION_ROUNDS = 4  # cheap rejection rounds before exact sampling


def _check_popularity(popularity: Any, num_items: int) -> np.ndarray:
    """Validate popularity counts and turn them into sampling probabilities."""
    if popularity is None:
        raise ValueError("popularity is required when strategy='popularity'")
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.shape != (num_items,):
        raise ValueError(
            f"popularity must have shape ({num_items},) to match num_items, "
            f"got {pop.shape}"
        )
    if not np.all(np.isfinite(pop)) or pop.min() < 0:
        raise ValueError("popularity must contain finite, non-negative counts")
    if pop.sum() <= 0:
        raise ValueError("popularity must contain at least one positive count")
    return pop / pop.sum()


def _first_unique(values: np.ndarray) -> np.ndarray:
    """Distinct values in order of first occurrence."""
    _, first = np.unique(values, return_index=True)
    return values[np.sort(first)]


def _draw_row(
    rng: np.random.Generator,
    forbidden: np.ndarray,
    num_negatives: int,
    probs: np.ndarray | None,
    cdf: np.ndarray | None,
    num_items: int,
) -> np.ndarray:
    """Sample ``num_negatives`` distinct items outside ``forbidden`` (sorted).

    Keeping the first distinct allowed draws of an i.i.d. stream is exactly
    successive sampling without replacement, so a few cheap rounds usually
    suffice; when the allowed mass is small an exact draw over the remaining
    eligible items finishes the row.
    """
    chosen = np.zeros(0, dtype=np.int64)
    for _ in range(_REJECTION_ROUNDS):
        need = num_negatives - chosen.size
        size = 2 * need + 8
        if cdf is None:
            draw = rng.integers(0, num_items, size=size)
        else:
            draw = np.searchsorted(cdf, rng.random(size), side="right")
            draw = np.minimum(draw, num_items - 1)
        draw = draw[~np.isin(draw, forbidden)]
        chosen = _first_unique(np.concatenate([chosen, draw]))[:num_negatives]
        if chosen.size == num_negatives:
            return chosen
    eligible = np.setdiff1d(np.arange(num_items), np.union1d(forbidden, chosen))
    need = num_negatives - chosen.size
    if probs is None:
        rest = rng.choice(eligible, size=need, replace=False)
    else:
        p = probs[eligible]
        keep = p > 0
        eligible, p = eligible[keep], p[keep]
        rest = rng.choice(eligible, size=need, replace=False, p=p / p.sum())
    return np.concatenate([chosen, rest])


def draw_sampled_negatives(
    positives: Any,
    num_items: int,
    num_negatives: int,
    seed: int,
    strategy: str = "uniform",
    popularity: Any = None,
    exclude: Sequence[Any] | None = None,
) -> np.ndarray:
    """Draw a fixed set of negatives per user for sampled ranking evaluation.

    Negatives are drawn without replacement among items that are neither the
    user's held-out positive nor in ``exclude[u]``; with ``strategy=
    "popularity"`` an item's chance is proportional to ``popularity`` (items
    with zero count are never drawn). The same seed gives the same array.
    """
    if strategy not in SAMPLING_STRATEGIES:
        raise ValueError(
            f"unknown strategy {strategy!r}; expected one of {SAMPLING_STRATEGIES}"
        )
    num_items = positive_int(num_items, "num_items")
    num_negatives = positive_int(num_negatives, "num_negatives")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if np.ndim(positives) != 1:
        raise ValueError(
            f"positives must be a 1-D array with one item per user, "
            f"got shape {np.shape(positives)}"
        )
    pos = as_index_array(positives, "positives")
    if pos.size == 0:
        raise ValueError("positives must contain at least one user")
    if pos.min() < 0 or pos.max() >= num_items:
        raise ValueError(f"positives must be item indices in [0, {num_items})")
    if strategy == "popularity":
        probs = _check_popularity(popularity, num_items)
    elif popularity is not None:
        raise ValueError("popularity is only used with strategy='popularity'")
    else:
        probs = None
    excl = (
        as_index_lists(exclude, "exclude", pos.size, num_items)
        if exclude is not None
        else [np.zeros(0, np.int64)] * pos.size
    )

    rng = np.random.default_rng(seed)
    cdf = None if probs is None else np.cumsum(probs) / np.sum(probs)
    num_allowed_items = num_items if probs is None else int((probs > 0).sum())
    out = np.empty((pos.size, num_negatives), dtype=np.int64)
    for u in range(pos.size):
        forbidden = np.union1d(excl[u], pos[u : u + 1])
        blocked = forbidden.size if probs is None else int((probs[forbidden] > 0).sum())
        eligible = num_allowed_items - blocked
        if eligible < num_negatives:
            raise ValueError(
                f"user {u} has {eligible} eligible items, fewer than "
                f"num_negatives={num_negatives}"
            )
        out[u] = _draw_row(rng, forbidden, num_negatives, probs, cdf, num_items)
    return out


def save_negatives(
    path: str | os.PathLike[str], negatives: Any, *, seed: int, strategy: str
) -> None:
    """Store a negative draw with its seed and strategy so runs reuse it exactly."""
    neg = np.asarray(negatives)
    if neg.ndim != 2 or not np.issubdtype(neg.dtype, np.integer):
        raise ValueError(
            f"negatives must be a 2-D integer array, got shape {neg.shape} "
            f"and dtype {neg.dtype}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if strategy not in SAMPLING_STRATEGIES:
        raise ValueError(
            f"unknown strategy {strategy!r}; expected one of {SAMPLING_STRATEGIES}"
        )
    path = os.fspath(path)
    if not path.endswith(".npz"):  # where np.savez would write
        path += ".npz"
    with atomic_file(path) as scratch, open(scratch, "wb") as file:
        np.savez(file, negatives=neg.astype(np.int64), seed=np.int64(seed),
                 strategy=np.str_(strategy))


def load_negatives(path: str | os.PathLike[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Load a draw written by :func:`save_negatives` as ``(negatives, metadata)``."""
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path = path + ".npz"  # np.savez appends the suffix
    with np.load(path, allow_pickle=False) as data:
        missing = {"negatives", "seed", "strategy"} - set(data.files)
        if missing:
            raise ValueError(f"{path} is not a saved negative draw: missing {sorted(missing)}")
        negatives = data["negatives"].astype(np.int64)
        meta = {"seed": int(data["seed"]), "strategy": str(data["strategy"])}
    return negatives, meta


def sampled_ranking_metrics(
    positive_scores: Any,
    negative_scores: Any,
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, float]:
    """HR@K and NDCG@K of each positive ranked against its sampled negatives.

    The positive's rank is the number of negatives scoring at least as high:
    ties count against it, so a constant scorer gets no credit.
    """
    ks = check_ks(ks)
    pos = as_float_vector(positive_scores, "positive_scores")
    neg = as_float_matrix(negative_scores, "negative_scores")
    if pos.size == 0:
        raise ValueError("positive_scores must contain at least one user")
    if neg.shape[0] != pos.shape[0]:
        raise ValueError(
            f"negative_scores must have one row per positive: expected "
            f"{pos.shape[0]} rows, got {neg.shape[0]}"
        )
    if neg.shape[1] == 0:
        raise ValueError("negative_scores must have at least one negative per user")
    rank = (neg >= pos[:, None]).sum(axis=1)
    gains = 1.0 / np.log2(rank + 2.0)
    out: dict[str, float] = {}
    for k in ks:
        out[f"hr@{k}"] = float(np.mean(rank < k))
    for k in ks:
        out[f"ndcg@{k}"] = float(np.mean(np.where(rank < k, gains, 0.0)))
    return out
