"""Choosing the domains of a dataset and turning ratings into interactions.

A dataset either names each interaction's domain (a ``domain`` column) or has
item genres, in which case each requested genre is a domain (MovieLens).  A
movie in more than one requested genre needs a rule: ``drop`` it (default,
the D2D-TM protocol), or assign it to the ``first`` or the ``last`` of the
listed domains it belongs to (``second`` is ``last``'s name from when there were
only two domains, and means the same).
"""

from __future__ import annotations

import dataclasses
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from tfxdr.data.table import RawDataset
from tfxdr.errors import DataError

OverlapRule = Literal["drop", "first", "last", "second"]
OVERLAP_RULES = ("drop", "first", "last", "second")


@dataclasses.dataclass
class Interactions:
    """Interactions of the chosen domains, ready for splitting.

    ``frame`` has ``user_id``, ``item_id``, ``domain`` and whichever of
    ``timestamp``, ``rating``, ``label`` the source had, sorted by user, then
    timestamp when present, then domain and item so that order is deterministic.
    """

    frame: pd.DataFrame
    domains: tuple[str, ...]
    users: pd.DataFrame | None
    items: pd.DataFrame | None
    dataset: str
    source: str | None = None  # the file they were read from, for error messages

    @property
    def where(self) -> str:
        return self.source or self.dataset

    @property
    def has_timestamps(self) -> bool:
        return "timestamp" in self.frame.columns

    def domain_frame(self, domain: str) -> pd.DataFrame:
        return self.frame[self.frame["domain"] == domain]


def parse_domains(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"Drama,Comedy"`` -> ``("Drama", "Comedy")``, rejecting empty and repeated names."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    if len(names) < 2 or any(not n for n in names):
        raise DataError(f"domains {text!r}: expected at least two comma-separated domain names",
                        field="domains")
    if len(set(names)) != len(names):
        raise DataError(f"domains {text!r}: a domain is listed twice", field="domains")
    return tuple(names)


def select_domains(
    raw: RawDataset,
    domains: Sequence[str],
    overlap: OverlapRule = "drop",
    min_rating: float | None = None,
) -> Interactions:
    """Keeps the interactions of ``domains`` (in that order) as implicit feedback.

    Args:
        raw: the loaded dataset.
        domains: domain names; with genre domains, genre names.
        overlap: rule for an item that falls in more than one of ``domains``.
        min_rating: keep only interactions rated at least this (None keeps
            every interaction: each rating is a click).

    Raises:
        DataError: unknown domain (listing the available ones), a domain left
            with no interactions, or ``min_rating`` without a rating column.
    """
    if overlap not in OVERLAP_RULES:
        raise DataError(f"overlap rule {overlap!r} is invalid: expected one of "
                        f"{', '.join(OVERLAP_RULES)}")
    domains = tuple(domains)
    frame = raw.interactions
    if "domain" in frame.columns:
        frame = _by_domain_column(raw, frame, domains)
    else:
        frame = _by_genre(raw, frame, domains, overlap)
    if min_rating is not None:
        if "rating" not in frame.columns:
            raise DataError(f"{_where(raw)}: min_rating={min_rating} needs a 'rating' column")
        frame = frame[frame["rating"] >= min_rating]
    for domain in domains:
        if not (frame["domain"] == domain).any():
            reason = f" with rating >= {min_rating}" if min_rating is not None else ""
            raise DataError(f"{_where(raw)}: domain {domain!r} has no interactions{reason}")
    sort_keys = ["user_id"] + (["timestamp"] if "timestamp" in frame.columns else [])
    frame = frame.sort_values(sort_keys + ["domain", "item_id"], kind="stable")
    return Interactions(
        frame=frame.reset_index(drop=True),
        domains=domains,
        users=raw.users,
        items=raw.items,
        dataset=raw.name,
        source=_where(raw),
    )


def _where(raw: RawDataset) -> str:
    return raw.source.get("path", raw.name)


def _by_domain_column(raw: RawDataset, frame: pd.DataFrame, domains: tuple[str, ...]):
    available = sorted(frame["domain"].unique())
    for domain in domains:
        if domain not in available:
            raise DataError(
                f"{_where(raw)}: domain {domain!r} not found in column 'domain'; "
                f"available: {', '.join(available)}"
            )
    return frame[frame["domain"].isin(domains)].copy()


def _by_genre(raw: RawDataset, frame: pd.DataFrame, domains: tuple[str, ...], overlap: str):
    if raw.items is None or "genres" not in raw.items.columns:
        raise DataError(
            f"{_where(raw)}: no 'domain' column and no item genres to build domains from"
        )
    available = sorted({g for genres in raw.items["genres"] for g in genres})
    for domain in domains:
        if domain not in available:
            raise DataError(
                f"{_where(raw)}: genre {domain!r} not found; available: {', '.join(available)}"
            )
    membership = np.array(
        [[d in genres for d in domains] for genres in raw.items["genres"]], dtype=bool
    ).reshape(len(raw.items), len(domains))
    count = membership.sum(axis=1)
    if overlap == "drop":
        keep = count == 1
        chosen = membership.argmax(axis=1)
    elif overlap == "first":
        keep = count >= 1
        chosen = membership.argmax(axis=1)
    else:  # last (second)
        keep = count >= 1
        chosen = len(domains) - 1 - membership[:, ::-1].argmax(axis=1)
    item_domain = pd.Series(
        np.asarray(domains, dtype=object)[chosen[keep]],
        index=raw.items["item_id"].to_numpy()[keep],
    )
    out = frame[frame["item_id"].isin(item_domain.index)].copy()
    out["domain"] = item_domain.reindex(out["item_id"]).to_numpy()
    return out
