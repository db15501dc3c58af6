"""The overlap-ratio study's user assignment, counted by hand."""

import pandas as pd
import pytest

from tfxdr.data.overlap import limit_overlap
from tfxdr.errors import DataError


def _frame():
    """Users c0..c9 click in both domains (two rows each), a0/a1 in A only, b0 in B only."""
    rows = [(f"c{u}", f"{d.lower()}{u}", d) for u in range(10) for d in ("A", "B")]
    rows += [(f"c{u}", f"{d.lower()}x", d) for u in range(10) for d in ("A", "B")]
    rows += [("a0", "a1", "A"), ("a1", "a2", "A"), ("b0", "b1", "B")]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "domain"])


def _domains_of(frame):
    return frame.groupby("user_id")["domain"].agg(lambda d: "".join(sorted(set(d)))).to_dict()


@pytest.mark.parametrize("ratio, both, only_a, only_b", [
    (0.3, 3, 4, 3),    # 10 common users: 3 stay common, the other 7 split 4 / 3
    (0.0, 0, 5, 5),
    (1.0, 10, 0, 0),
    (0.75, 8, 1, 1),   # round(7.5) = 8
])
def test_a_share_of_the_common_users_stays_common_and_the_rest_is_split(ratio, both, only_a,
                                                                        only_b):
    frame = _frame()
    limited = limit_overlap(frame, ("A", "B"), ratio, seed=0)
    common = {u: d for u, d in _domains_of(limited).items() if u.startswith("c")}
    assert list(common.values()).count("AB") == both
    assert list(common.values()).count("A") == only_a
    assert list(common.values()).count("B") == only_b
    # A user keeps all of a domain's rows or none of them; single-domain users are untouched.
    for user, domains in common.items():
        assert len(limited[limited["user_id"] == user]) == 2 * len(domains)
    assert _domains_of(limited)["a0"] == "A" and _domains_of(limited)["b0"] == "B"
    assert len(limited[limited["user_id"].isin(["a0", "a1", "b0"])]) == 3


def test_the_same_seed_keeps_the_same_users_and_another_seed_others():
    frame = _frame()
    first = limit_overlap(frame, ("A", "B"), 0.5, seed=1)
    assert first.equals(limit_overlap(frame, ("A", "B"), 0.5, seed=1))
    assert not first.equals(limit_overlap(frame, ("A", "B"), 0.5, seed=2))


def test_a_ratio_outside_0_to_1_is_named():
    with pytest.raises(DataError, match=r"^overlap_ratio 1.5 is invalid: expected a share in "
                                        r"\[0, 1\]$") as error:
        limit_overlap(_frame(), ("A", "B"), 1.5, seed=0)
    assert error.value.field == "overlap_ratio"
