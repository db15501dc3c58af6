"""Cold-start resampling for cross-domain CTR (DADIN's Algorithm 2).

The target is one domain; every other domain is a source.  Of the users active
in the target domain, ``a_train`` become training users:
their interactions, in every domain, are training data.  ``a_cross`` of the
training users also appear in evaluation: their last day of target-domain
interactions moves out of training into validation or test.  The remaining
users are cold: only their last day of target-domain interactions is used, for
validation or test (half of the users each), so the model has never seen them
in the target domain.  With ``evaluate_source`` (below) every evaluated user's
source rows from the start of that day on are held out too.

Choices where the algorithm is silent (arguments):

- "last day" is the 24 hours ending at the user's last target interaction
  (``window_seconds``), not a calendar day, so it is independent of time zones;
- a cold user's other source-domain interactions stay available as history
  features (split ``context``: never a training or evaluation instance), since the
  source domain "contains all the users of the target domain"; their earlier
  target-domain interactions are dropped (``keep_cold_target_history=False``),
  which makes them truly cold in the target domain;
- users with no target-domain interaction are not sampled and are dropped;
- each evaluated user has one cut-off, the start of their last target day:
  nothing of theirs after it trains, in either domain.  Algorithm 2 only moves
  target rows, which would leave an overlapping user's later source rows in
  training with the held-out target clicks in their history features;
- the algorithm evaluates the target domain only; with ``evaluate_source`` (the
  default) every evaluated user's source rows after the cut-off go to the same
  part as their target rows, so the source domain is scored too, on the same
  users over the same period.  ``evaluate_source=False`` keeps them as ``context``
  (history only), which is Algorithm 2 apart from the cut-off above.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tfxdr.errors import DataError

DAY_SECONDS = 24 * 60 * 60
CONTEXT = "context"


def cold_start_split(
    frame: pd.DataFrame,
    target: str,
    a_train: float,
    a_cross: float,
    seed: int,
    window_seconds: int = DAY_SECONDS,
    keep_cold_target_history: bool = False,
    evaluate_source: bool = True,
) -> pd.DataFrame:
    """Returns ``frame`` (less dropped rows) with ``split`` in train/val/test/context."""
    if "timestamp" not in frame.columns:
        raise DataError("cold-start resampling needs a 'timestamp' column, which the data lacks")
    for name, value in (("a_train", a_train), ("a_cross", a_cross)):
        if not 0.0 <= value <= 1.0:
            raise DataError(f"{name}={value} is invalid: expected a fraction in [0, 1]",
                            field=name)
    rng = np.random.default_rng(seed)
    is_target = (frame["domain"] == target).to_numpy()
    user_list = np.sort(frame.loc[is_target, "user_id"].unique())
    order = rng.permutation(len(user_list))
    n_train = int(round(a_train * len(user_list)))
    train_users = user_list[order[:n_train]]
    cold_users = user_list[order[n_train:]]
    overlap = train_users[rng.permutation(len(train_users))[: int(round(a_cross * n_train))]]

    # Each evaluated user goes wholly to validation or to test, half and half.
    evaluated = np.concatenate([overlap, cold_users])
    evaluated = evaluated[rng.permutation(len(evaluated))]
    part_of = pd.Series("test", index=evaluated, dtype=object)
    part_of.iloc[: len(evaluated) // 2] = "val"

    users = frame["user_id"]
    after_cutoff = _after_last_window_start(frame, is_target, window_seconds)
    in_last_window = after_cutoff & is_target
    is_evaluated = users.isin(evaluated).to_numpy()

    split = np.full(len(frame), None, dtype=object)
    split[users.isin(train_users).to_numpy()] = "train"
    cold = users.isin(cold_users).to_numpy()
    split[cold & ~is_target] = CONTEXT
    if keep_cold_target_history:
        split[cold & is_target & ~in_last_window] = CONTEXT
    held_out = after_cutoff & is_evaluated
    if not evaluate_source:
        split[held_out & ~is_target] = CONTEXT
        held_out &= is_target
    split[held_out] = part_of.reindex(users[held_out]).to_numpy()
    out = frame.assign(split=split)
    return out[out["split"].notna()].copy()


def _after_last_window_start(frame: pd.DataFrame, target_rows: np.ndarray,
                             window_seconds: int) -> np.ndarray:
    """Rows (of any domain) later than ``window_seconds`` before the user's last target row.

    Users without target rows get no cut-off (all False).
    """
    last_time = frame.loc[target_rows].groupby("user_id")["timestamp"].max()
    user_last = last_time.reindex(frame["user_id"]).to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return frame["timestamp"].to_numpy() > user_last - window_seconds
