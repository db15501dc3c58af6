"""Files and directories that are either complete or absent.

Everything tfxdr writes for later reading (run directories, exports, bench
summaries, negative draws) is written under a hidden sibling name and renamed
into place once complete, so an interrupted write never leaves something that
looks finished and never damages what was there before.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from tfxdr.errors import RunDirError


@contextlib.contextmanager
def atomic_directory(target: Path, replace: bool = False) -> Iterator[Path]:
    """Yields a scratch directory that becomes ``target`` if the block succeeds.

    Args:
        target: the directory to create.
        replace: an existing ``target`` is replaced once the block succeeds
            (otherwise it is an error, raised before the block runs).

    Raises:
        RunDirError: ``target`` exists and ``replace`` is false (``field="out"``).
    """
    target = Path(target)
    if target.exists() and not replace:
        raise RunDirError(f"{target}: already exists", field="out")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    scratch.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would hide runs from other users
    try:
        yield scratch
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if target.exists():
        replace_directory(scratch, target)
    else:
        scratch.rename(target)


def replace_directory(new: Path, target: Path) -> None:
    """Puts directory ``new`` at ``target`` and deletes the old ``target``.

    Where the system can swap two paths in one step (Linux ``renameat2`` with
    ``RENAME_EXCHANGE``), there is no moment without a complete ``target``;
    elsewhere the old one is renamed aside first, a moment without either.
    """
    new, target = Path(new), Path(target)
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # now the old target
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    target.rename(retired / target.name)
    new.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swaps paths ``a`` and ``b`` atomically; False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM):
        return False  # no such call, or a file system that cannot exchange
    raise OSError(error, os.strerror(error), str(b))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yields a scratch path that replaces ``target`` in one rename if the block succeeds."""
    target = Path(target)
    scratch = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        yield scratch
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    os.replace(scratch, target)


def write_text(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` in one rename: readers see the old file or the new one."""
    with atomic_file(path) as scratch:
        scratch.write_text(text)


def write_json(path: Path, payload: dict) -> None:
    """Writes ``payload`` as indented JSON, replacing ``path`` in one rename."""
    write_text(path, json.dumps(payload, indent=2) + "\n")


def read_json(path: Path, what: str = "a finished run directory") -> dict:
    """Reads a JSON file, naming ``path`` and what it belongs to when it is missing or bad."""
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"{path}: missing; is {path.parent} {what}?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise RunDirError(f"{path}: not valid JSON ({error})") from None
