"""Readers for GroupLens's own MovieLens formats.

ML-1M: ``ratings.dat``, ``users.dat``, ``movies.dat`` (``::``-separated,
Latin-1).  ML-100K: ``u.data`` (tab-separated), ``u.user`` and ``u.item``
(``|``-separated, 19 genre flags).  These are the files users download from
GroupLens themselves.
"""

from __future__ import annotations

import re
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

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def _ratings(path: Path, sep: str) -> pd.DataFrame:
    raw = read_delimited(path, sep=sep, names=["user_id", "item_id", "rating", "timestamp"],
                         encoding="latin-1")
    line0 = first_data_line(False)
    for column in ("user_id", "item_id"):
        require_nonempty(raw, column, path, line0)
    return pd.DataFrame({
        "user_id": raw["user_id"].str.strip(),
        "item_id": raw["item_id"].str.strip(),
        "rating": to_number(raw, "rating", path, line0),
        "timestamp": to_number(raw, "timestamp", path, line0, integer=True),
    })


def _side_table(path: Path, sep: str, names: list[str]) -> pd.DataFrame | None:
    """An optional user or item file, unique by its first column; None if absent."""
    if not path.is_file():
        return None
    table = read_delimited(path, sep, names, encoding="latin-1")
    require_unique(table, names[0], path, first_data_line(False))
    return table


def read_ml1m(directory: Path) -> RawDataset:
    """Reads GroupLens ML-1M (``ratings.dat``, ``users.dat``, ``movies.dat``)."""
    interactions = _ratings(directory / "ratings.dat", "::")
    users = _side_table(directory / "users.dat", "::",
                        ["user_id", "gender", "age", "occupation", "zip_code"])
    movies = _side_table(directory / "movies.dat", "::", ["item_id", "title", "genres"])
    items = None
    if movies is not None:
        items = pd.DataFrame({
            "item_id": movies["item_id"],
            "title": movies["title"],
            "year": [_year(t) for t in movies["title"]],
            "genres": [tuple(g for g in s.split("|") if g) for s in movies["genres"]],
        })
    return RawDataset("ml-1m", interactions, users, items,
                      {"format": "grouplens-1m", "path": str(directory)})


def read_ml100k(directory: Path) -> RawDataset:
    """Reads GroupLens ML-100K (``u.data``, ``u.user``, ``u.item``)."""
    interactions = _ratings(directory / "u.data", "\t")
    users = _side_table(directory / "u.user", "|",
                        ["user_id", "age", "gender", "occupation", "zip_code"])
    raw = _side_table(directory / "u.item", "|", ["item_id", "title", "release_date",
                                                  "video_release_date", "url", *ML100K_GENRES])
    items = None
    if raw is not None:
        flags = raw[list(ML100K_GENRES)]
        items = pd.DataFrame({
            "item_id": raw["item_id"],
            "title": raw["title"],
            "year": [_year(t) for t in raw["title"]],
            "genres": [tuple(g for g, f in zip(ML100K_GENRES, row) if f == "1")
                       for row in flags.itertuples(index=False)],
        })
    return RawDataset("ml-100k", interactions, users, items,
                      {"format": "grouplens-100k", "path": str(directory)})


def _year(title: str) -> str:
    match = _YEAR.search(title)
    return match.group(1) if match else ""
