"""Input validation shared by the metric modules: every bad input names its argument."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

DEFAULT_KS: tuple[int, ...] = (10, 20, 50)
RANKING_METRICS: tuple[str, ...] = ("recall", "recall_capped", "ndcg", "hr")
PAD_ITEM = -1  # marks an empty rank in a top-K list shorter than K


def as_float_matrix(x: Any, name: str, keep_float_dtype: bool = False) -> np.ndarray:
    """Convert to a 2-D float array, rejecting NaN (it has no rank).

    ``keep_float_dtype`` avoids an up-cast copy of large float32 score matrices;
    the order of scores is the same in either precision.
    """
    return _float_array(x, name, 2, keep_float_dtype)


def as_float_vector(x: Any, name: str) -> np.ndarray:
    """Convert to a 1-D float64 array, rejecting NaN."""
    return _float_array(x, name, 1, keep_float_dtype=False)


def _float_array(x: Any, name: str, ndim: int, keep_float_dtype: bool) -> np.ndarray:
    arr = np.asarray(x)
    if not (keep_float_dtype and np.issubdtype(arr.dtype, np.floating)):
        arr = arr.astype(np.float64, copy=False)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if arr.size and np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    return arr


def as_index_array(x: Any, name: str) -> np.ndarray:
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


def as_index_lists(
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
        arr = as_index_array(row, f"{name}[{i}]")
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name}[{i}] contains a negative item index {arr.min()}")
        if num_items is not None and arr.size and arr.max() >= num_items:
            raise ValueError(
                f"{name}[{i}] contains item index {arr.max()}, "
                f"expected indices in [0, {num_items})"
            )
        out.append(arr)
    return out


def positive_int(value: Any, name: str) -> int:
    """Check that ``value`` is an integer >= 1 (a cutoff or a count)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    """Validate the cutoffs; duplicates would silently collapse dict keys."""
    if isinstance(ks, (int, np.integer)):
        raise ValueError(f"ks must be a sequence of positive integers, got {ks!r}")
    out = tuple(positive_int(k, "each k in ks") for k in ks)
    if not out:
        raise ValueError("ks must contain at least one cutoff")
    if len(set(out)) != len(out):
        raise ValueError(f"ks must not contain duplicates, got {out}")
    return out


def check_metrics(metrics: Iterable[str]) -> tuple[str, ...]:
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


def metric_keys(metrics: Sequence[str], ks: Sequence[int]) -> list[str]:
    """Result keys in a stable order: metric-major, then cutoff."""
    return [f"{m}@{k}" for m in metrics for k in ks]
