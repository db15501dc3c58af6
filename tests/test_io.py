"""Files written in one rename: a failed write leaves the old file and no scratch."""

import json

import pytest

from tfxdr.io import atomic_file, write_json, write_text


def test_a_failed_write_keeps_the_old_file_and_leaves_no_scratch(tmp_path):
    target = tmp_path / "summary.md"
    write_text(target, "old\n")
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_file(target) as scratch:
            scratch.write_text("half of the new")
            raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.md"]


def test_write_json_replaces_the_file_in_one_rename(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"auc": 0.5})
    write_json(target, {"auc": 0.75})
    assert json.loads(target.read_text()) == {"auc": 0.75}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
