"""Full ranking: every user scored against the whole catalogue.

The user's known items are masked out, and Recall / capped Recall / NDCG / HR at
K are computed from the top-K list.  Ties in score are broken by the lower item
index, so rankings are reproducible regardless of the sorting algorithm.  Users
without relevant items carry no signal; they are skipped (NaN per user,
excluded from means) and counted.  A relevant item index beyond the catalogue
counts in the user's relevant items and can never be hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tfxdr.metrics._checks import (DEFAULT_KS, PAD_ITEM, RANKING_METRICS, as_float_matrix,
                                   as_index_lists, check_ks, check_metrics, metric_keys,
                                   positive_int)
from tfxdr.metrics.ctr import average_ranks


def _mask_excluded(neg_scores: np.ndarray, exclude: Any) -> None:
    """Push each user's excluded items to the end of the ranking, in place.

    Works on negated scores, so an excluded item becomes +inf (score -inf).
    """
    num_rows, num_items = neg_scores.shape
    lists = as_index_lists(exclude, "exclude", num_rows, num_items)
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
    k = positive_int(k, "k")
    s = as_float_matrix(scores, "scores", keep_float_dtype=True)
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
    hits = np.isin(top_codes, rel_codes) & (top_items != PAD_ITEM)
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
    ks = check_ks(ks)
    metrics = check_metrics(metrics)
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
    if top.min() < PAD_ITEM:
        raise ValueError("top_items must contain item indices >= 0 (or -1 for padding)")
    rel = as_index_lists(relevant, "relevant", top.shape[0])

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


def per_user_auc(scores: Any, relevant: Sequence[Any],
                 exclude: Sequence[Any] | None = None) -> np.ndarray:
    """Each user's AUC of their relevant items against every other item of the catalogue.

    The negatives are the items neither relevant nor excluded (the user's known
    items); tied scores count one half.  A relevant item that is excluded or lies
    beyond the catalogue (unseen in training) counts as a positive ranked below
    every negative, as it counts as a miss in the top-K metrics.  NaN for a user
    without relevant items or without negatives.
    """
    s = as_float_matrix(scores, "scores")
    num_rows, num_items = s.shape
    rel = as_index_lists(relevant, "relevant", num_rows)
    excluded = (as_index_lists(exclude, "exclude", num_rows, num_items) if exclude is not None
                else [np.zeros(0, np.int64)] * num_rows)
    out = np.full(num_rows, np.nan)
    for row in range(num_rows):
        positives = np.unique(rel[row])
        known = positives[positives < num_items]
        scored = known[~np.isin(known, excluded[row])]
        negative = np.ones(num_items, bool)
        negative[known] = False
        negative[excluded[row]] = False
        num_negative = int(negative.sum())
        if not positives.size or not num_negative:
            continue
        ranks = average_ranks(np.concatenate([s[row, negative], s[row, scored]]))
        wins = ranks[num_negative:].sum() - scored.size * (scored.size + 1) / 2.0
        out[row] = wins / (positives.size * num_negative)
    return out


class RankingAccumulator:
    """Accumulates ranking metrics over batches of users (bounded memory: only per-user metric values are kept)."""

    def __init__(
        self,
        ks: Sequence[int] = DEFAULT_KS,
        metrics: Sequence[str] = RANKING_METRICS,
    ) -> None:
        self.ks = check_ks(ks)
        self.metrics = check_metrics(metrics)
        self._keys = metric_keys(self.metrics, self.ks)
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
            pad = np.full((top.shape[0], max_k - top.shape[1]), PAD_ITEM, np.int64)
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
