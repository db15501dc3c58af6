"""Which code a run was made with: a digest of the package's own source files.

A run's ``config.json`` records it beside the config, split and data checksums,
so that ``bench`` never reads back, and a resume never continues, a run made by
other code.  The version string alone would not do: it changes with releases,
not with every edit that changes what a run computes.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 (first 16 hex digits) over every ``.py`` file of the package, by
    path relative to it, in sorted order: the same on every machine for the same
    sources, whatever the install location."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
