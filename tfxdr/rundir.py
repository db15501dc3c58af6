"""Run directories that are either complete or absent.

A run is written into a hidden sibling directory and moved into place only
when it has finished, so a failed run leaves no directory that looks complete
and never damages an earlier run at the same path.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from tfxdr.errors import RunDirError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"


@contextlib.contextmanager
def staged_run_dir(run_dir: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yields a scratch directory that becomes ``run_dir`` if the block succeeds."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not overwrite:
        raise RunDirError(f"{run_dir}: already exists; choose another --out or pass --overwrite")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.partial-", dir=run_dir.parent))
    try:
        yield scratch
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if run_dir.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.old-", dir=run_dir.parent))
        run_dir.rename(retired / run_dir.name)
        scratch.rename(run_dir)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        scratch.rename(run_dir)


def write_json(path: Path, payload: dict) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"{path}: missing; is {path.parent} a finished run directory?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise RunDirError(f"{path}: not valid JSON ({error})") from None
