"""Run directories: what they hold, who may write them, and how they come to exist.

```
RUN_DIR/config.json        model, resolved config, seed, data sources (checksums), split spec
RUN_DIR/features.json      the feature spec (vocabularies, buckets, entity tables)
RUN_DIR/split/             interactions.parquet (with a split column), spec.json
RUN_DIR/history.csv        per-epoch losses and validation metrics
RUN_DIR/steps.csv          every training step's loss terms
RUN_DIR/checkpoints/       best.weights.h5 (selected on validation), last.weights.h5,
                           resume.npz (everything needed to continue training)
RUN_DIR/model.keras        the selected model, preprocessing layer included
RUN_DIR/metrics.json       test metrics (a tuning trial's: validation), timing
RUN_DIR/status.json        complete, or running / interrupted / failed and why
```

A run trains in ``PARENT/.NAME.partial`` and is moved to ``--out`` (``PARENT/NAME``)
only when complete, replacing a finished run there in one step.  While it
trains, ``PARENT/.NAME.lock`` (holding the PID) keeps a second process out; the
lock is an advisory ``flock``, so a lock file left by a killed process is free
and is taken over.  An interrupted or failed run stays in ``.NAME.partial``:
the same command resumes it from its last checkpoint.  This module imports
no TensorFlow.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path
from typing import Iterator

from tfxdr.errors import RunDirError
from tfxdr.io import read_json, replace_directory, write_json

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
STATUS_FILE = "status.json"
CHECKPOINT_DIR = "checkpoints"
RESUME_FILE = "resume.npz"

#: Settings of config.json that do not change what a run computes.
UNCOMPARED = frozenset({"tfxdr_version"})

_held: dict[Path, int] = {}  # locks this process holds, by target: re-entrant


def staged_path(target: Path) -> Path:
    """Where the run for ``target`` trains until it is complete."""
    target = Path(target).absolute()
    return target.parent / f".{target.name}.partial"


def lock_path(target: Path) -> Path:
    target = Path(target).absolute()
    return target.parent / f".{target.name}.lock"


def check_parent(target: Path) -> None:
    """Checks that directory ``target`` can be made: its nearest existing ancestor is
    a directory this process can write in.

    Raises:
        RunDirError: that ancestor is a file or cannot be written.
    """
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise RunDirError(f"{target}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunDirError(f"{target}: cannot write in {parent} (permission denied)")


def check_out(target: Path, overwrite: bool) -> Path:
    """Checks that ``target`` can become a run directory; returns its absolute path.

    Raises:
        RunDirError: a finished run is there and ``overwrite`` is false, the path
            is a file, lies under a file, or its parent cannot be written.
    """
    target = Path(target).absolute()
    if target.exists() and not target.is_dir():
        raise RunDirError(f"{target}: is a file, not a run directory")
    check_parent(target)
    if target.is_dir() and any(target.iterdir()):
        if not (target / CONFIG_FILE).is_file():
            raise RunDirError(f"{target}: exists and is not a tfxdr run directory; refusing to "
                              "replace it")
        if not overwrite:
            raise RunDirError(f"{target}: already exists", field="out")
    return target


@contextlib.contextmanager
def run_lock(target: Path) -> Iterator[Path]:
    """Holds the lock of run directory ``target`` for the block.

    Raises:
        RunDirError: another live process holds it (naming its PID).
    """
    target = Path(target).absolute()
    if target in _held:
        yield target
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(target)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 64).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise RunDirError(f"{target}: in use by process {holder} (lock {path}); wait for it "
                              "to finish or stop it") from None
        # The file may have been unlinked by its releasing holder after we opened it.
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(descriptor).st_ino:
            break
        os.close(descriptor)
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())
    _held[target] = descriptor
    try:
        yield target
    finally:
        del _held[target]
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(descriptor)


def check_unlocked(target: Path) -> None:
    """Raises the error :func:`run_lock` would when a live process holds the lock; creates
    nothing (a stale lock file is taken over and removed)."""
    target = Path(target).absolute()
    path = lock_path(target)
    if target in _held or not path.is_file():
        return
    with run_lock(target):
        pass


def remove_leftovers(target: Path) -> None:
    """Removes what older versions or an interrupted replacement left beside ``target``:
    ``.NAME.partial-*`` scratch directories and ``.NAME.old-*`` retired runs.
    Call it holding the lock."""
    target = Path(target).absolute()
    for pattern in (f".{target.name}.partial-*", f".{target.name}.old-*"):
        for leftover in target.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def is_complete(run_dir: Path) -> bool:
    """A finished run: its metrics are written (runs before status.json existed) and
    its status, if any, says complete."""
    run_dir = Path(run_dir)
    if not (run_dir / METRICS_FILE).is_file():
        return False
    return read_status(run_dir).get("status", "complete") == "complete"


def read_status(run_dir: Path) -> dict:
    path = Path(run_dir) / STATUS_FILE
    if not path.is_file():
        return {}
    return read_json(path, "a run directory")


def write_status(run_dir: Path, status: str, **details) -> None:
    """Records ``status`` (running, interrupted, failed, complete) and its details."""
    write_json(Path(run_dir) / STATUS_FILE, {"status": status, **details})


def has_checkpoint(run_dir: Path) -> bool:
    return (Path(run_dir) / CHECKPOINT_DIR / RESUME_FILE).is_file()


def publish(run_dir: Path, target: Path) -> None:
    """Moves the complete run ``run_dir`` to ``target``, replacing a run there in one step."""
    if Path(target).exists():
        replace_directory(run_dir, target)
    else:
        Path(run_dir).rename(target)


def first_difference(saved, wanted, path: str = "") -> str | None:
    """The dotted name of the first setting where two config.json payloads differ,
    with both values; None when they agree (``UNCOMPARED`` settings aside)."""
    if isinstance(saved, dict) and isinstance(wanted, dict):
        for key in list(dict.fromkeys([*saved, *wanted])):
            if not path and key in UNCOMPARED:
                continue
            name = f"{path}.{key}" if path else key
            if key not in saved or key not in wanted:
                return (f"{name} (saved {saved.get(key, 'nothing')!r}, "
                        f"asked {wanted.get(key, 'nothing')!r})")
            found = first_difference(saved[key], wanted[key], name)
            if found:
                return found
        return None
    if isinstance(saved, (list, tuple)) and isinstance(wanted, (list, tuple)) \
            and len(saved) == len(wanted):
        for saved_item, wanted_item in zip(saved, wanted):
            if first_difference(saved_item, wanted_item, path):
                return f"{path} (saved {list(saved)!r}, asked {list(wanted)!r})"
        return None
    return None if saved == wanted else f"{path} (saved {saved!r}, asked {wanted!r})"


__all__ = ["CHECKPOINT_DIR", "CONFIG_FILE", "METRICS_FILE", "MODEL_FILE", "RESUME_FILE",
           "STATUS_FILE", "check_out", "check_unlocked", "first_difference", "has_checkpoint",
           "is_complete", "lock_path", "publish", "read_json", "read_status", "remove_leftovers",
           "run_lock", "staged_path", "write_json", "write_status"]
