"""Reading tables as text and converting columns with precise errors.

Every reader loads columns as strings first and converts them here, so a bad
value is reported with the file, column, line and value instead of being
silently coerced to NaN.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from tfxdr.errors import DataError


@dataclasses.dataclass
class RawDataset:
    """Interactions plus optional side tables, before domains are chosen.

    ``interactions`` has string ``user_id`` and ``item_id`` columns and, when the
    source has them, ``domain`` (str), ``timestamp`` (int64 seconds), ``rating``
    (float64) and ``label`` (int8).  ``items`` may carry a ``genres`` column of
    tuples, which is what MovieLens genre domains are built from.  Feature
    columns of ``users`` and ``items`` are strings (categorical).
    """

    name: str
    interactions: pd.DataFrame
    users: pd.DataFrame | None
    items: pd.DataFrame | None
    source: dict


def read_delimited(
    path: Path,
    sep: str,
    names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    quoted: bool = False,
) -> pd.DataFrame:
    """Reads a delimited file with every column as a string (no NA guessing).

    MovieLens files are not quoted (titles contain quote characters), so
    quoting is off unless ``quoted`` is set, as for user CSV files.  Files
    without a header (``names``) are read by the python engine, which leaves a
    short line's missing fields NaN where the C engine would fill in "".
    """
    engine = "python" if len(sep) > 1 or names is not None else "c"
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            header=None if names is not None else "infer",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=encoding,
            engine=engine,
            quoting=csv.QUOTE_NONE if quoted is False else csv.QUOTE_MINIMAL,
        )
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except UnicodeDecodeError:
        raise DataError(_undecodable(path, encoding)) from None
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError(f"{path}: cannot be parsed as a {sep!r}-separated table: {error}") from None
    if names is not None:
        if frame.shape[1] != len(names):
            raise DataError(
                f"{path}: found {frame.shape[1]} fields per line, expected {len(names)} "
                f"({', '.join(names)})"
            )
        short = np.flatnonzero(frame.isna().to_numpy().any(axis=1))
        if short.size:
            row = int(short[0])
            raise DataError(
                f"{path}: line {row + 1}: found {int(frame.iloc[row].notna().sum())} fields, "
                f"expected {len(names)} ({', '.join(names)})"
            )
        frame.columns = list(names)
    return frame


def _undecodable(path: Path, encoding: str) -> str:
    """Names the line and byte where ``path`` stops being ``encoding`` text."""
    data = Path(path).read_bytes()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return (f"{path}: line {line}: byte 0x{data[error.start]:02x} is not {encoding} text "
                "(save the file as UTF-8)")
    return f"{path}: not {encoding} text"


def as_text(values: pd.Series) -> pd.Series:
    """The column as strings; a missing value (a Parquet null) becomes "", not "None" or NaN."""
    return values.astype(object).where(values.notna(), "").astype(str)


def _shown(value: object) -> str:
    """A value as messages quote it: ``2.5``, not numpy's ``np.float64(2.5)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def first_data_line(has_header: bool) -> int:
    """Line number (1-based) of a table's first data row."""
    return 2 if has_header else 1


def require_nonempty(frame: pd.DataFrame, column: str, path: Path, line0: int) -> None:
    values = frame[column].astype(str)
    empty = np.flatnonzero((values.str.strip() == "").to_numpy())
    if empty.size:
        row = int(empty[0])
        raise DataError(f"{path}: column {column!r} line {row + line0}: empty value, expected an id")


def to_number(
    frame: pd.DataFrame, column: str, path: Path, line0: int, integer: bool = False
) -> np.ndarray:
    """Converts a string column to float64 (or int64), naming the first bad value."""
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
    else:
        values = pd.to_numeric(raw.astype(str).str.strip(), errors="coerce").to_numpy(np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{path}: column {column!r} line {row + line0}: {_shown(raw.iloc[row])} "
            "is not a number"
        )
    if integer:
        if np.any(values != np.floor(values)):
            row = int(np.flatnonzero(values != np.floor(values))[0])
            raise DataError(
                f"{path}: column {column!r} line {row + line0}: {_shown(raw.iloc[row])} "
                "is not a whole number"
            )
        too_large = np.flatnonzero(np.abs(values) >= 2.0**63)
        if too_large.size:  # casting would silently wrap to -2**63
            row = int(too_large[0])
            raise DataError(
                f"{path}: column {column!r} line {row + line0}: {_shown(raw.iloc[row])} "
                "is out of the 64-bit integer range"
            )
        return values.astype(np.int64)
    return values


def to_label(frame: pd.DataFrame, column: str, path: Path, line0: int) -> np.ndarray:
    """Converts a 0/1 click label column, naming the first other value.

    A boolean column (natural in Parquet) is read as True = 1, False = 0.
    """
    if pd.api.types.is_bool_dtype(frame[column].dtype):
        return frame[column].to_numpy().astype(np.int8)
    values = to_number(frame, column, path, line0)
    bad = np.flatnonzero((values != 0) & (values != 1))
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{path}: column {column!r} line {row + line0}: {_shown(frame[column].iloc[row])} "
            "is not a click label, expected 0 or 1"
        )
    return values.astype(np.int8)


def require_unique(frame: pd.DataFrame, column: str, path: Path, line0: int) -> None:
    duplicated = np.flatnonzero(frame[column].duplicated().to_numpy())
    if duplicated.size:
        row = int(duplicated[0])
        raise DataError(
            f"{path}: column {column!r} line {row + line0}: duplicate id {frame[column].iloc[row]!r}"
        )
