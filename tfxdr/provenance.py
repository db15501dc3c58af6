"""Which code a run was made with: a digest of the package's own source files and
of the versions of the libraries that compute with it.

A run's ``config.json`` records it beside the config, split and data checksums,
so that ``bench`` never reads back, and a resume never continues, a run made by
other code.  The version string alone would not do: it changes with releases,
not with every edit that changes what a run computes.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: The libraries whose upgrade can change a run's numbers.
LIBRARIES = ("tensorflow", "keras", "numpy", "pandas")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 (first 16 hex digits) over every ``.py`` file of the package, by
    path relative to it, in sorted order, then the installed versions of
    :data:`LIBRARIES`: the same on every machine for the same sources and
    versions, whatever the install location."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for name in LIBRARIES:
        digest.update(f"{name}=={library_version(name)}".encode() + b"\0")
    return digest.hexdigest()[:16]


def library_version(name: str) -> str:
    """The installed version of distribution ``name``, or "absent"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"
