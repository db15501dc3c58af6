"""Which versions of a model a server loads, and which one a request reaches.

TF Serving watches a base path for integer-named version directories (other
names, such as the hidden scratch directories of an export in progress, are
ignored), loads those its version policy selects (the latest by default), and
routes a request by its explicit version, its label or else to the latest
loaded version; the answers below are TF Serving's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from tfxdr_serving.protocol import ServingError


def versions_on_disk(base_path: str | Path) -> list[int]:
    """The integer versions under a base path, ascending."""
    base = Path(base_path)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


def versions_to_serve(on_disk: Sequence[int], specific: Sequence[int] = (),
                      latest: int = 1) -> list[int]:
    """The versions a policy loads: ``specific`` ones that are on disk, or else the
    ``latest`` newest."""
    if specific:
        return sorted(set(specific) & set(on_disk))
    return sorted(on_disk)[-latest:] if latest > 0 else []


def resolve(name: str, available: Sequence[int], labels: Mapping[str, int],
            version: int | None = None, label: str | None = None) -> int:
    """The loaded version a request for ``name`` reaches.

    Raises:
        ServingError: INVALID_ARGUMENT for a version and a label together or an
            unknown label; UNAVAILABLE for a label on a version not loaded;
            NOT_FOUND for a version not loaded or a model with none.
    """
    if version is not None and label is not None:
        raise ServingError("INVALID_ARGUMENT", "a request names a version or a label, not both")
    if label is not None:
        if label not in labels:
            raise ServingError("INVALID_ARGUMENT", f"Unrecognized servable version label: {label}")
        version = labels[label]
        if version not in available:
            raise ServingError("UNAVAILABLE", f"label {label} of model {name} points at version "
                               f"{version}, which is not loaded")
        return version
    if version is not None:
        if version not in available:
            raise ServingError("NOT_FOUND",
                               f"Servable not found for request: Specific({name}, {version})")
        return version
    if not available:
        raise ServingError("NOT_FOUND", f"Servable not found for request: Latest({name})")
    return max(available)
