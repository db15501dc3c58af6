"""Reader for a user's own interactions file (CSV or Parquet).

The interactions table has exactly the columns
``user_id,item_id,domain[,timestamp][,rating][,label]``; a missing required
column or any other column is an error, because a silently ignored column is
usually a misspelt one.  Optional user and item feature tables are keyed by
``user_id`` / ``item_id``; their other columns are categorical features, and an
item column ``genres`` holds ``|``-separated values.

Rules applied rather than guessed at: surrounding whitespace is not part of an
id or domain (`` u1`` is ``u1``); a rating is a number >= 0; a row repeating
another in every column is an error (a repeated click at another time is a
new event); a feature table has a row for every user or item the interactions
name (its values may be empty).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfxdr.data.table import (
    RawDataset,
    as_text,
    first_data_line,
    read_delimited,
    require_nonempty,
    require_unique,
    to_label,
    to_number,
)
from tfxdr.errors import DataError

REQUIRED_COLUMNS = ("user_id", "item_id", "domain")
OPTIONAL_COLUMNS = ("timestamp", "rating", "label")
EXPECTED = "user_id,item_id,domain[,timestamp][,rating][,label]"
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def read_table(path: Path) -> pd.DataFrame:
    """Reads a CSV or Parquet file; CSV columns stay strings."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if suffix == ".csv":
        return read_delimited(path, sep=",", quoted=True)
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path)
        except Exception as error:  # pyarrow raises several unrelated types
            raise DataError(f"{path}: cannot be read as Parquet: {error}") from None
    raise DataError(f"{path}: unsupported file type {suffix!r}, expected .csv or .parquet")


def read_interactions(
    path: Path,
    user_features: Path | None = None,
    item_features: Path | None = None,
) -> RawDataset:
    """Reads and validates an interactions file and its optional feature tables."""
    raw = read_table(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column {missing[0]!r}; expected columns {EXPECTED}")
    extra = [c for c in raw.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if extra:
        raise DataError(f"{path}: unexpected column {extra[0]!r}; expected columns {EXPECTED}")
    if raw.empty:
        raise DataError(f"{path}: no interactions (the table has no rows)")
    line0 = first_data_line(True)
    frame = pd.DataFrame()
    for column in REQUIRED_COLUMNS:
        frame[column] = as_text(raw[column]).str.strip()
        require_nonempty(frame, column, path, line0)
    if "timestamp" in raw.columns:
        frame["timestamp"] = to_number(raw, "timestamp", path, line0, integer=True)
    if "rating" in raw.columns:
        frame["rating"] = to_number(raw, "rating", path, line0)
        negative = np.flatnonzero(frame["rating"].to_numpy() < 0)
        if negative.size:
            row = int(negative[0])
            raise DataError(f"{path}: column 'rating' line {row + line0}: "
                            f"{frame['rating'].iloc[row]:g} is negative, expected a rating >= 0")
    if "label" in raw.columns:
        frame["label"] = to_label(raw, "label", path, line0)
    repeated = np.flatnonzero(frame.duplicated().to_numpy())
    if repeated.size:
        row = int(repeated[0])
        same = (frame == frame.iloc[row]).all(axis=1).to_numpy()
        raise DataError(f"{path}: line {row + line0} repeats line {int(np.argmax(same)) + line0} "
                        "in every column; remove the copy (a repeated click needs its own "
                        "timestamp)")
    users = _read_features(user_features, "user_id") if user_features else None
    items = _read_features(item_features, "item_id") if item_features else None
    for table, key, table_path in ((users, "user_id", user_features),
                                   (items, "item_id", item_features)):
        if table is not None:
            _require_covered(frame, table, key, Path(table_path), path, line0)
    if items is not None and "genres" in items.columns:
        items["genres"] = [tuple(g for g in str(v).split("|") if g) for v in items["genres"]]
    return RawDataset(
        name=path.stem,
        interactions=frame,
        users=users,
        items=items,
        source={
            "format": "interactions",
            "path": str(path),
            "user_features": str(user_features) if user_features else None,
            "item_features": str(item_features) if item_features else None,
        },
    )


def _require_covered(frame: pd.DataFrame, table: pd.DataFrame, key: str, table_path: Path,
                     path: Path, line0: int) -> None:
    """A feature table must have a row for every id the interactions name."""
    missing = ~frame[key].isin(set(table[key])).to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        count = frame.loc[missing, key].nunique()
        total = frame[key].nunique()
        raise DataError(f"{table_path}: no row for {key} {frame[key].iloc[row]!r} ({path} line "
                        f"{row + line0}); a feature table must cover every id of the "
                        f"interactions ({count} of {total} have none)")


def _read_features(path: Path, key: str) -> pd.DataFrame:
    path = Path(path)
    frame = read_table(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    if key not in frame.columns:
        raise DataError(f"{path}: missing column {key!r}; expected {key} plus feature columns")
    line0 = first_data_line(True)
    frame = pd.DataFrame({column: as_text(frame[column]) for column in frame.columns})
    frame[key] = frame[key].str.strip()
    require_nonempty(frame, key, path, line0)
    require_unique(frame, key, path, line0)
    return frame.reset_index(drop=True)
