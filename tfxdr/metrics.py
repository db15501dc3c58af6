"""Ranking and click-through-rate metrics computed on model scores.

Everything here works on NumPy arrays (TensorFlow eager tensors are accepted
and converted with ``np.asarray``) so that evaluation is exact, deterministic
and independent of the training framework.

Two evaluation protocols are supported:

* Full ranking: every user is scored against the whole catalogue, the user's
  known items are masked out, and Recall / capped Recall / NDCG / HR at K are
  computed from the top-K list (:func:`top_k_items`,
  :func:`ranking_metrics_per_user`, :class:`RankingAccumulator`).
* Sampled ranking: one held-out positive per user is ranked against a fixed
  set of sampled negatives (:func:`draw_sampled_negatives`,
  :func:`sampled_ranking_metrics`). The draw can be saved and reloaded so that
  runs are compared on identical negatives.

CTR models are evaluated with :func:`auc` and :func:`logloss`.

Conventions:

* Ties in score are broken by the lower item index, so rankings are
  reproducible regardless of the sorting algorithm.
* In sampled ranking, negatives scoring equal to the positive count against
  it, so a constant scorer earns no credit.
* Users without relevant items carry no signal; they are skipped (NaN per
  user, excluded from means) and counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

DEFAULT_KS: tuple[int, ...] = (10, 20, 50)
RANKING_METRICS: tuple[str, ...] = ("recall", "recall_capped", "ndcg", "hr")
SAMPLING_STRATEGIES: tuple[str, ...] = ("uniform", "popularity")

_PAD_ITEM = -1  # marks an empty rank in a top-K list shorter than K
_REJECTION_ROUNDS = 4  # cheap rejection rounds before exact sampling


# --------------------------------------------------------------------------
# Input validation helpers
# --------------------------------------------------------------------------


def _as_float_matrix(x: Any, name: str, keep_float_dtype: bool = False) -> np.ndarray:
    """Convert to a 2-D float array, rejecting NaN (it has no rank).

    ``keep_float_dtype`` avoids an up-cast copy of large float32 score matrices;
    the order of scores is the same in either precision.
    """
    arr = np.asarray(x)
    if not (keep_float_dtype and np.issubdtype(arr.dtype, np.floating)):
        arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if arr.size and np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    return arr


def _as_float_vector(x: Any, name: str) -> np.ndarray:
    """Convert to a 1-D float64 array, rejecting NaN."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.size and np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    return arr


def _as_index_array(x: Any, name: str) -> np.ndarray:
    """Convert a collection of item indices (or a single index) to 1-D int64."""
    arr = np.asarray(x)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of item indices, got shape {arr.shape}"
        )
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer)
        or (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)))
    ):
        raise ValueError(
            f"{name} must contain integer item indices, got dtype {arr.dtype}"
        )
    return arr.astype(np.int64)


def _as_index_lists(
    x: Any, name: str, num_rows: int, num_items: int | None = None
) -> list[np.ndarray]:
    """Validate a per-user sequence of item-index arrays."""
    if x is None:
        raise ValueError(f"{name} must be a sequence of {num_rows} index arrays")
    rows = list(x)
    if len(rows) != num_rows:
        raise ValueError(
            f"{name} must have one entry per user: expected {num_rows}, got {len(rows)}"
        )
    out = []
    for i, row in enumerate(rows):
        arr = _as_index_array(row, f"{name}[{i}]")
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name}[{i}] contains a negative item index {arr.min()}")
        if num_items is not None and arr.size and arr.max() >= num_items:
            raise ValueError(
                f"{name}[{i}] contains item index {arr.max()}, "
                f"expected indices in [0, {num_items})"
            )
        out.append(arr)
    return out


def _positive_int(value: Any, name: str) -> int:
    """Check that ``value`` is an integer >= 1 (a cutoff or a count)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def _check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    """Validate the cutoffs; duplicates would silently collapse dict keys."""
    if isinstance(ks, (int, np.integer)):
        raise ValueError(f"ks must be a sequence of positive integers, got {ks!r}")
    out = tuple(_positive_int(k, "each k in ks") for k in ks)
    if not out:
        raise ValueError("ks must contain at least one cutoff")
    if len(set(out)) != len(out):
        raise ValueError(f"ks must not contain duplicates, got {out}")
    return out


def _check_metrics(metrics: Iterable[str]) -> tuple[str, ...]:
    """Validate requested ranking metric names."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    out = tuple(metrics)
    if not out:
        raise ValueError("metrics must contain at least one metric name")
    unknown = [m for m in out if m not in RANKING_METRICS]
    if unknown:
        raise ValueError(
            f"unknown ranking metric(s) {unknown}; expected any of {RANKING_METRICS}"
        )
    return tuple(dict.fromkeys(out))


def _metric_keys(metrics: Sequence[str], ks: Sequence[int]) -> list[str]:
    """Result keys in a stable order: metric-major, then cutoff."""
    return [f"{m}@{k}" for m in metrics for k in ks]


# --------------------------------------------------------------------------
# Full ranking
# --------------------------------------------------------------------------


def _mask_excluded(neg_scores: np.ndarray, exclude: Any) -> None:
    """Push each user's excluded items to the end of the ranking, in place.

    Works on negated scores, so an excluded item becomes +inf (score -inf).
    """
    num_rows, num_items = neg_scores.shape
    lists = _as_index_lists(exclude, "exclude", num_rows, num_items)
    lengths = np.fromiter((len(r) for r in lists), dtype=np.int64, count=num_rows)
    if lengths.sum():
        rows = np.repeat(np.arange(num_rows), lengths)
        neg_scores[rows, np.concatenate(lists)] = np.inf


def top_k_items(scores: Any, k: int, exclude: Sequence[Any] | None = None) -> np.ndarray:
    """Top-``k`` item indices per row, best first, ties to the lower index.

    ``exclude[b]`` lists items (e.g. training history) that must not be
    recommended to user ``b``; they are scored -inf, so they only appear when
    fewer than ``k`` other items exist. Runs in O(I) per row plus a sort of
    the candidates that reach the k-th score, which keeps it exact at a tie
    on the boundary.
    """
    k = _positive_int(k, "k")
    s = _as_float_matrix(scores, "scores", keep_float_dtype=True)
    num_rows, num_items = s.shape
    if num_rows == 0 or num_items == 0:
        raise ValueError(f"scores must be non-empty, got shape {s.shape}")
    k = min(k, num_items)

    neg = np.negative(s)  # a fresh array: the caller's scores are never modified
    if exclude is not None:
        _mask_excluded(neg, exclude)
    part = np.argpartition(neg, k - 1, axis=1)
    kth = np.take_along_axis(neg, part[:, k - 1 : k], axis=1)  # k-th best, negated
    # Every item scoring at least the k-th best is a candidate: this keeps all
    # items tied at the boundary so the lower index can win.
    rows, cols = np.nonzero(neg <= kth)
    order = np.lexsort((cols, neg[rows, cols], rows))
    counts = np.bincount(rows, minlength=num_rows)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    take = starts[:, None] + np.arange(k)[None, :]
    return cols[order][take].astype(np.int64)


def _relevance_counts_and_hits(
    top_items: np.ndarray, relevant: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-user number of distinct relevant items and the hit matrix."""
    num_rows = top_items.shape[0]
    lengths = np.fromiter((len(r) for r in relevant), dtype=np.int64, count=num_rows)
    rel_items = np.concatenate(relevant) if lengths.sum() else np.zeros(0, np.int64)
    rel_rows = np.repeat(np.arange(num_rows, dtype=np.int64), lengths)
    width = int(max(top_items.max(initial=0), rel_items.max(initial=0))) + 1
    rel_codes = np.unique(rel_rows * width + rel_items)
    num_relevant = np.bincount(rel_codes // width, minlength=num_rows)
    top_codes = np.arange(num_rows, dtype=np.int64)[:, None] * width + top_items
    hits = np.isin(top_codes, rel_codes) & (top_items != _PAD_ITEM)
    return num_relevant, hits


def ranking_metrics_per_user(
    top_items: Any,
    relevant: Sequence[Any],
    ks: Sequence[int] = DEFAULT_KS,
    metrics: Sequence[str] = RANKING_METRICS,
) -> dict[str, np.ndarray]:
    """Per-user ranking metrics from top-K lists; NaN for users without relevant items.

    Keeping per-user values (rather than only means) allows significance tests
    and exact merging of batches. ``top_items`` needs at least ``max(ks)``
    columns; an entry of -1 marks an empty rank (catalogue smaller than K).
    """
    ks = _check_ks(ks)
    metrics = _check_metrics(metrics)
    top = np.asarray(top_items)
    if top.ndim != 2:
        raise ValueError(f"top_items must be a 2-D array, got shape {top.shape}")
    if top.shape[0] == 0:
        raise ValueError("top_items must contain at least one user row")
    if top.size and not np.issubdtype(top.dtype, np.integer):
        raise ValueError(f"top_items must contain integer item indices, got {top.dtype}")
    max_k = max(ks)
    if top.shape[1] < max_k:
        raise ValueError(
            f"top_items must have at least max(ks)={max_k} columns, got {top.shape[1]}"
        )
    top = top[:, :max_k].astype(np.int64)
    if top.min() < _PAD_ITEM:
        raise ValueError("top_items must contain item indices >= 0 (or -1 for padding)")
    rel = _as_index_lists(relevant, "relevant", top.shape[0])

    num_relevant, hits = _relevance_counts_and_hits(top, rel)
    has_relevant = num_relevant > 0
    safe_n = np.where(has_relevant, num_relevant, 1).astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, max_k + 2, dtype=np.float64))
    cum_hits = np.cumsum(hits, axis=1, dtype=np.float64)
    cum_dcg = np.cumsum(hits * discounts, axis=1)
    cum_ideal = np.cumsum(discounts)

    out: dict[str, np.ndarray] = {}
    for metric in metrics:
        for k in ks:
            n_hits = cum_hits[:, k - 1]
            if metric == "recall":
                value = n_hits / safe_n
            elif metric == "recall_capped":
                value = n_hits / np.minimum(safe_n, k)
            elif metric == "ndcg":
                ideal_len = np.minimum(safe_n, k).astype(np.int64)
                value = cum_dcg[:, k - 1] / cum_ideal[ideal_len - 1]
            else:  # "hr"
                value = (n_hits > 0).astype(np.float64)
            out[f"{metric}@{k}"] = np.where(has_relevant, value, np.nan)
    return out


class RankingAccumulator:
    """Accumulates ranking metrics over batches of users (bounded memory: only per-user metric values are kept)."""

    def __init__(
        self,
        ks: Sequence[int] = DEFAULT_KS,
        metrics: Sequence[str] = RANKING_METRICS,
    ) -> None:
        self.ks = _check_ks(ks)
        self.metrics = _check_metrics(metrics)
        self._keys = _metric_keys(self.metrics, self.ks)
        self._chunks: dict[str, list[np.ndarray]] = {key: [] for key in self._keys}
        self._num_users = 0
        self.skipped_users = 0

    def update(
        self,
        scores: Any,
        relevant: Sequence[Any],
        exclude: Sequence[Any] | None = None,
    ) -> None:
        """Rank one batch of users over all items and store their metric values."""
        max_k = max(self.ks)
        top = top_k_items(scores, max_k, exclude=exclude)
        if top.shape[1] < max_k:  # catalogue smaller than the largest cutoff
            pad = np.full((top.shape[0], max_k - top.shape[1]), _PAD_ITEM, np.int64)
            top = np.concatenate([top, pad], axis=1)
        values = ranking_metrics_per_user(top, relevant, self.ks, self.metrics)
        evaluated = ~np.isnan(values[self._keys[0]])
        self.skipped_users += int((~evaluated).sum())
        self._num_users += int(evaluated.sum())
        for key in self._keys:
            self._chunks[key].append(values[key][evaluated])

    @property
    def num_users(self) -> int:
        """Number of users evaluated so far (users without relevant items excluded)."""
        return self._num_users

    def per_user(self) -> dict[str, np.ndarray]:
        """Per-user values of every metric, in update order (skipped users omitted)."""
        return {
            key: np.concatenate(chunks) if chunks else np.zeros(0, np.float64)
            for key, chunks in self._chunks.items()
        }

    def result(self) -> dict[str, float]:
        """Mean of every metric over evaluated users."""
        if self._num_users == 0:
            raise ValueError("no user with relevant items was evaluated")
        return {key: float(np.mean(v)) for key, v in self.per_user().items()}

    def reset(self) -> None:
        """Forget all accumulated users so the object can be reused."""
        self._chunks = {key: [] for key in self._keys}
        self._num_users = 0
        self.skipped_users = 0


# --------------------------------------------------------------------------
# Sampled ranking
# --------------------------------------------------------------------------


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
    num_items = _positive_int(num_items, "num_items")
    num_negatives = _positive_int(num_negatives, "num_negatives")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if np.ndim(positives) != 1:
        raise ValueError(
            f"positives must be a 1-D array with one item per user, "
            f"got shape {np.shape(positives)}"
        )
    pos = _as_index_array(positives, "positives")
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
        _as_index_lists(exclude, "exclude", pos.size, num_items)
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
    np.savez(
        path,
        negatives=neg.astype(np.int64),
        seed=np.int64(seed),
        strategy=np.str_(strategy),
    )


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
    ks = _check_ks(ks)
    pos = _as_float_vector(positive_scores, "positive_scores")
    neg = _as_float_matrix(negative_scores, "negative_scores")
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


# --------------------------------------------------------------------------
# CTR metrics
# --------------------------------------------------------------------------


def _binary_labels(labels: Any, n: int) -> np.ndarray:
    """Validate labels as a 1-D {0, 1} vector of length ``n``."""
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if y.size != n:
        raise ValueError(f"labels and scores must have the same length, got {y.size} and {n}")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must contain only 0 and 1")
    return y


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` with tied values sharing their mean rank."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    boundary = np.concatenate(([True], sorted_x[1:] != sorted_x[:-1], [True]))
    edges = np.flatnonzero(boundary)  # group starts, then the end
    group = np.cumsum(boundary[:-1]) - 1
    mean_rank = (edges[:-1] + edges[1:] + 1) / 2.0  # mean of start+1 .. end
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def auc(labels: Any, scores: Any) -> float:
    """ROC AUC as the Mann-Whitney U statistic with tied scores counting one half.

    Exact in O(n log n) and identical to the trapezoidal ROC area.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size == 0:
        raise ValueError("scores must be non-empty")
    if np.isnan(s).any():
        raise ValueError("scores must not contain NaN")
    y = _binary_labels(labels, s.size)
    n_pos = float(y.sum())
    n_neg = float(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        present = 1 if n_pos else 0
        raise ValueError(
            f"auc requires both classes in labels, got only class {present}"
        )
    rank_sum = float(_average_ranks(s)[y == 1].sum())
    u_stat = rank_sum - n_pos * (n_pos + 1) / 2.0
    return u_stat / (n_pos * n_neg)


def logloss(labels: Any, probabilities: Any, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy; clipping to [eps, 1-eps] keeps it finite."""
    if not 0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps}")
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if p.size == 0:
        raise ValueError("probabilities must be non-empty")
    if np.isnan(p).any() or p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities must lie in [0, 1]")
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if y.size != p.size:
        raise ValueError(
            f"labels and probabilities must have the same length, got {y.size} and {p.size}"
        )
    if np.isnan(y).any() or y.min() < 0 or y.max() > 1:
        raise ValueError("labels must lie in [0, 1]")
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))
