"""Deterministic train/val/test splits, saved with the run.

A split is the interactions frame plus a ``split`` column in
{``train``, ``val``, ``test``}.  Three protocols:

- ``users``: whole users go to one part (D2D-TM's 70/5/25); held-out users'
  interactions are never seen in training.
- ``leave_one_out``: per user and domain, the last interaction by time is
  test and the one before it validation (RecGURU).
- ``chronological``: per user, the earliest fraction is train, then
  validation, then test (AFT).
- ``cold_start``: DADIN's resampling (see :mod:`tfxdr.data.cold_start`) with the
  last domain as the target: most evaluated users were never seen in the target
  domain's training data.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tfxdr.data.cold_start import CONTEXT, cold_start_split
from tfxdr.data.domains import Interactions
from tfxdr.errors import DataError, RunDirError

SPLIT_NAMES = ("train", "val", "test")
SplitKind = Literal["users", "leave_one_out", "chronological", "cold_start", "given"]
SPLIT_DIR = "split"


@dataclasses.dataclass
class SplitSpec:
    """How a split was made; saved as ``split/spec.json``."""

    kind: SplitKind = "users"
    seed: int = 0
    fractions: tuple[float, float, float] = (0.7, 0.05, 0.25)
    a_train: float = 0.8
    a_cross: float = 0.1
    evaluate_source: bool = True

    def validate(self) -> None:
        if self.kind not in ("users", "leave_one_out", "chronological", "cold_start", "given"):
            raise DataError(
                f"split kind {self.kind!r} is invalid: expected users, leave_one_out, "
                "chronological, cold_start or given"
            )
        if self.kind == "given":
            return
        fractions = np.asarray(self.fractions, dtype=float)
        if fractions.shape != (3,) or not np.all(fractions > 0) \
                or abs(fractions.sum() - 1) > 1e-6:
            shown = ",".join(f"{f:g}" for f in np.atleast_1d(fractions))
            raise DataError(f"split_fractions {shown!r} is invalid: expected three positive "
                            "numbers (train, val, test) summing to 1; selection needs a "
                            "validation split", field="split_fractions")
        for name in ("a_train", "a_cross"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise DataError(f"{name} {value:g} is invalid: expected a share in (0, 1]",
                                field=name)


def make_split(interactions: Interactions, spec: SplitSpec) -> pd.DataFrame:
    """Returns ``interactions.frame`` with a ``split`` column, per ``spec``."""
    spec.validate()
    frame = interactions.frame
    if spec.kind == "given":
        return given_split(frame, interactions.where)
    if spec.kind == "users":
        return split_users(frame, spec.fractions, spec.seed)
    if not interactions.has_timestamps:
        raise DataError(f"{interactions.where}: split {spec.kind!r} needs a 'timestamp' "
                        "column, which the data lacks")
    if spec.kind == "leave_one_out":
        return leave_one_out(frame)
    if spec.kind == "cold_start":
        return cold_start_split(frame, interactions.domains[-1], spec.a_train, spec.a_cross,
                                spec.seed, evaluate_source=spec.evaluate_source)
    return chronological(frame, spec.fractions)


def split_users(
    frame: pd.DataFrame, fractions: tuple[float, float, float], seed: int
) -> pd.DataFrame:
    """Assigns whole users to train/val/test by a seeded permutation of sorted ids."""
    users = np.sort(frame["user_id"].unique())
    order = np.random.default_rng(seed).permutation(len(users))
    n_train = int(round(fractions[0] * len(users)))
    n_val = int(round(fractions[1] * len(users)))
    part = np.empty(len(users), dtype=object)
    part[order[:n_train]] = "train"
    part[order[n_train:n_train + n_val]] = "val"
    part[order[n_train + n_val:]] = "test"
    counts = [n_train, n_val, len(users) - n_train - n_val]
    starved = [name for name, n, f in zip(SPLIT_NAMES, counts, fractions) if f > 0 and n < 1]
    if starved:
        empty = starved[0]
        raise DataError(f"{len(users)} users are too few to split "
                        f"{','.join(f'{f:g}' for f in fractions)}: the {empty} split gets "
                        "none (the task keeps users with interactions in every domain)")
    assignment = pd.Series(part, index=users)
    out = frame.copy()
    out["split"] = assignment.reindex(out["user_id"]).to_numpy()
    return out


def given_split(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """The interactions' own ``split`` column (made upstream, e.g. by a pipeline's
    hash split, or a task's own split of other rows), checked: every value one of
    train, val, test or context (a cold-start split's history-only rows); train and
    val present."""
    if "split" not in frame.columns:
        raise DataError(f"{where}: split 'given' needs a 'split' column, which the data lacks")
    bad = sorted(set(frame["split"].astype(str)) - set(SPLIT_NAMES) - {CONTEXT})
    if bad:
        raise DataError(f"{where}: split value {bad[0]!r} is invalid: expected train, val, "
                        "test or context")
    for needed in ("train", "val"):
        if not (frame["split"] == needed).any():
            raise DataError(f"{where}: the given split has no {needed} rows")
    return frame


def _ordered(frame: pd.DataFrame, group: list[str]) -> pd.DataFrame:
    return frame.sort_values(group + ["timestamp", "item_id"], kind="stable")


def leave_one_out(frame: pd.DataFrame, group: tuple[str, ...] = ("user_id", "domain")):
    """Last interaction of each group is test, the one before validation.

    A group with one interaction keeps it for training; with two, the last is
    test and nothing is validation.
    """
    ordered = _ordered(frame, list(group))
    position_from_end = ordered.groupby(list(group), sort=False).cumcount(ascending=False)
    size = ordered.groupby(list(group), sort=False)["item_id"].transform("size")
    split = np.full(len(ordered), "train", dtype=object)
    split[((position_from_end == 0) & (size >= 2)).to_numpy()] = "test"
    split[((position_from_end == 1) & (size >= 3)).to_numpy()] = "val"
    out = ordered.copy()
    out["split"] = split
    return out.sort_index()


def chronological(
    frame: pd.DataFrame,
    fractions: tuple[float, float, float],
    group: tuple[str, ...] = ("user_id",),
) -> pd.DataFrame:
    """Per group, the earliest ``fractions[0]`` of interactions are train, and so on."""
    ordered = _ordered(frame, list(group))
    position = ordered.groupby(list(group), sort=False).cumcount().to_numpy()
    size = ordered.groupby(list(group), sort=False)["item_id"].transform("size").to_numpy()
    train_end = np.maximum(1, np.round(fractions[0] * size))
    val_end = np.maximum(train_end, np.round((fractions[0] + fractions[1]) * size))
    split = np.where(position < train_end, "train", np.where(position < val_end, "val", "test"))
    out = ordered.copy()
    out["split"] = split.astype(object)
    return out.sort_index()


def save_split(run_dir: Path, frame: pd.DataFrame, spec: SplitSpec) -> None:
    """Writes ``split/interactions.parquet`` and ``split/spec.json``."""
    directory = Path(run_dir) / SPLIT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    columns = [c for c in ("user_id", "item_id", "domain", "timestamp", "rating", "label", "split")
               if c in frame.columns]
    frame[columns].reset_index(drop=True).to_parquet(directory / "interactions.parquet")
    spec_payload = dataclasses.asdict(spec)
    spec_payload["counts"] = {str(k): int(v) for k, v in frame["split"].value_counts().items()}
    (directory / "spec.json").write_text(json.dumps(spec_payload, indent=2) + "\n")


def load_split(run_dir: Path) -> tuple[pd.DataFrame, SplitSpec]:
    directory = Path(run_dir) / SPLIT_DIR
    frame_path = directory / "interactions.parquet"
    spec_path = directory / "spec.json"
    if not frame_path.is_file() or not spec_path.is_file():
        raise RunDirError(f"{directory}: missing split files; the run directory is incomplete")
    payload = json.loads(spec_path.read_text())
    payload.pop("counts", None)
    payload["fractions"] = tuple(payload["fractions"])
    payload.setdefault("evaluate_source", False)  # splits saved before it existed
    spec = SplitSpec(**payload)
    return pd.read_parquet(frame_path), spec
