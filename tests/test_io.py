"""Files and directories written in one rename: a failed write leaves the old one and no
scratch; what is written follows the user's umask."""

import json
import os
import shutil
import stat

import pytest

from tfxdr.errors import RunDirError
from tfxdr.io import atomic_directory, atomic_file, write_json, write_text


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


def test_directories_follow_the_umask(tmp_path):
    # mkdtemp makes 0700 directories; a run or export must be readable by a serving
    # process under another user whenever the user's umask allows it.
    previous = os.umask(0o022)
    try:
        with atomic_directory(tmp_path / "run") as scratch:
            (scratch / "export").mkdir()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "run" / "export").stat().st_mode) == 0o755


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "plain rename"])
def test_a_directory_written_meanwhile_is_kept_and_the_new_one_dropped(tmp_path, monkeypatch,
                                                                        renameat2):
    # Two exports that chose the same next version: the second must not replace the
    # first, which a server may already be reading; even an empty one is kept.
    if not renameat2:
        monkeypatch.setattr("tfxdr.io._renameat2", lambda a, b, flags: None)
    target = tmp_path / "export" / "3"
    for content in ("saved_model.pb", None):
        with pytest.raises(RunDirError, match=r"/export/3: already exists \(written while"):
            with atomic_directory(target) as scratch:
                (scratch / "saved_model.pb").write_text("second")
                target.mkdir(parents=True)
                if content:
                    (target / content).write_text("first")
        assert sorted(p.name for p in target.iterdir()) == ([content] if content else [])
        assert [p.name for p in target.parent.iterdir()] == ["3"]  # no scratch left
        shutil.rmtree(target)
    with atomic_directory(target, replace=True) as scratch:  # asked to replace: it does
        (scratch / "saved_model.pb").write_text("second")
    assert (target / "saved_model.pb").read_text() == "second"
