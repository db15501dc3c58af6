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
        RunDirError: ``target`` exists and ``replace`` is false (``field="out"``),
            checked before the block runs and again when it is put in place: a
            ``target`` another process wrote meanwhile is kept, the new one dropped.
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
    if replace and target.exists():
        replace_directory(scratch, target)
    elif not _rename_no_replace(scratch, target):
        shutil.rmtree(scratch, ignore_errors=True)
        raise RunDirError(f"{target}: already exists (written while this one was)",
                          field="out")


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


_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2(a: Path, b: Path, flags: int) -> int | None:
    """``renameat2(a, b, flags)``: 0, or the errno; None where the call is missing."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), flags) == 0:
        return 0
    return ctypes.get_errno()


def _unsupported(error: int | None) -> bool:
    # no such call, or a file system that does not take the flag
    return error is None or error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM)


def _exchange(a: Path, b: Path) -> bool:
    """Swaps paths ``a`` and ``b`` atomically; False where the system cannot."""
    error = _renameat2(a, b, _RENAME_EXCHANGE)
    if error == 0:
        return True
    if _unsupported(error):
        return False
    raise OSError(error, os.strerror(error), str(b))


def _rename_no_replace(a: Path, b: Path) -> bool:
    """Renames directory ``a`` to ``b`` unless ``b`` exists; False if it does.

    A plain rename would replace an empty ``b``; Linux's ``RENAME_NOREPLACE``
    refuses any ``b`` in the same step.  Elsewhere a non-empty ``b`` is still
    refused by the rename itself, and an empty one is checked for first.
    """
    error = _renameat2(a, b, _RENAME_NOREPLACE)
    if error == 0:
        return True
    if error == errno.EEXIST:
        return False
    if not _unsupported(error):
        raise OSError(error, os.strerror(error), str(b))
    if b.exists():
        return False
    try:
        a.rename(b)
    except OSError as failure:
        if failure.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise
    return True


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
