"""Reader for RecBole atomic files (``.inter``, ``.user``, ``.item``).

Atomic files are tab-separated with ``name:type`` headers.  The ML-1M and
ML-100K copies on the package registry use them; item genres sit in a
space-separated ``genre`` or ``class`` column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfxdr.data.table import (
    RawDataset,
    first_data_line,
    read_delimited,
    require_nonempty,
    require_unique,
    to_number,
)
from tfxdr.errors import DataError

_GENRE_COLUMNS = ("genre", "class")
_YEAR_COLUMNS = ("release_year",)


def _read_atomic(path: Path) -> pd.DataFrame:
    frame = read_delimited(path, sep="\t")
    renamed = {}
    for header in frame.columns:
        name, sep, _ = str(header).partition(":")
        if not sep:
            raise DataError(f"{path}: header {header!r} is not of the form name:type")
        renamed[header] = name
    return frame.rename(columns=renamed)


def read_recbole(directory: Path, stem: str) -> RawDataset:
    """Reads ``{stem}.inter`` and, when present, ``{stem}.user`` / ``{stem}.item``."""
    inter_path = directory / f"{stem}.inter"
    raw = _read_atomic(inter_path)
    line0 = first_data_line(True)
    for column in ("user_id", "item_id"):
        if column not in raw.columns:
            raise DataError(
                f"{inter_path}: missing column {column!r}; found {', '.join(raw.columns)}"
            )
        require_nonempty(raw, column, inter_path, line0)
    interactions = pd.DataFrame({"user_id": raw["user_id"], "item_id": raw["item_id"]})
    if "rating" in raw.columns:
        interactions["rating"] = to_number(raw, "rating", inter_path, line0)
    if "timestamp" in raw.columns:
        interactions["timestamp"] = to_number(raw, "timestamp", inter_path, line0, integer=True)
    users = _read_side(directory / f"{stem}.user", "user_id")
    items = _read_side(directory / f"{stem}.item", "item_id")
    if items is not None:
        items = _normalise_items(items)
    return RawDataset(
        name=stem,
        interactions=interactions,
        users=users,
        items=items,
        source={"format": "recbole", "path": str(directory)},
    )


def _read_side(path: Path, key: str) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    frame = _read_atomic(path)
    if key not in frame.columns:
        raise DataError(f"{path}: missing column {key!r}; found {', '.join(frame.columns)}")
    require_unique(frame, key, path, first_data_line(True))
    return frame.reset_index(drop=True)


def _normalise_items(items: pd.DataFrame) -> pd.DataFrame:
    items = items.copy()
    genre_column = next((c for c in _GENRE_COLUMNS if c in items.columns), None)
    if genre_column is not None:
        items["genres"] = [tuple(g.split()) for g in items[genre_column]]
        if genre_column != "genres":
            items = items.drop(columns=[genre_column])
    year_column = next((c for c in _YEAR_COLUMNS if c in items.columns), None)
    if year_column is not None:
        items = items.rename(columns={year_column: "year"})
        items["year"] = [y.split(".")[0] for y in items["year"]]
    return items
