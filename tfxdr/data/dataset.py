"""Resolving a dataset name or path to a :class:`RawDataset`.

``ml-1m`` and ``ml-100k`` are fetched into the cache on first use.  A path may
be an interactions file (CSV/Parquet), or a directory holding GroupLens files
(``ratings.dat`` or ``u.data``), RecBole atomic files (``*.inter``), or an
``interactions.csv``/``.parquet`` with optional ``users.*``/``items.*`` beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

from tfxdr.data.fetch import SOURCES, cached_path, fetch, source_for
from tfxdr.data.grouplens import read_ml100k, read_ml1m
from tfxdr.data.recbole import read_recbole
from tfxdr.data.table import RawDataset
from tfxdr.data.tabular import TABLE_SUFFIXES, read_interactions
from tfxdr.errors import DataError


def load_dataset(
    name_or_path: str | os.PathLike,
    user_features: str | os.PathLike | None = None,
    item_features: str | os.PathLike | None = None,
    quiet: bool = False,
) -> RawDataset:
    """Loads a named dataset (fetching it if needed) or a dataset on disk."""
    text = str(name_or_path)
    if text in SOURCES:
        directory = cached_path(text) or fetch(text, quiet=quiet)
        raw = read_recbole(directory, text)
        raw.name = text
        raw.source = {"dataset": text, **raw.source}
        return raw
    path = Path(text)
    if not path.exists():
        if os.sep in text or path.suffix:
            raise DataError(f"{path}: no such file or directory")
        source_for(text)  # raises the "unknown dataset" error
    if path.is_file():
        return read_interactions(path, _opt(user_features), _opt(item_features))
    return _read_directory(path, _opt(user_features), _opt(item_features))


def _opt(path: str | os.PathLike | None) -> Path | None:
    return Path(path) if path is not None else None


def _read_directory(directory: Path, users: Path | None, items: Path | None) -> RawDataset:
    if (directory / "ratings.dat").is_file():
        return read_ml1m(directory)
    if (directory / "u.data").is_file():
        return read_ml100k(directory)
    inter_files = sorted(directory.glob("*.inter"))
    if len(inter_files) == 1:
        return read_recbole(directory, inter_files[0].stem)
    for suffix in TABLE_SUFFIXES:
        candidate = directory / f"interactions{suffix}"
        if candidate.is_file():
            users = users or _sibling(directory, "users")
            items = items or _sibling(directory, "items")
            return read_interactions(candidate, users, items)
    raise DataError(
        f"{directory}: found no ratings.dat, u.data, single *.inter file or "
        "interactions.csv/.parquet"
    )


def _sibling(directory: Path, stem: str) -> Path | None:
    for suffix in TABLE_SUFFIXES:
        candidate = directory / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None
