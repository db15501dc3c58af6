"""reproduce.py: a bench step writes its page's section, the same bytes when run again
from nothing; a page without the section, a failing command and unknown sections are
refused."""

import shutil
import sys
from pathlib import Path

import pytest

from tfxdr import report
from tfxdr.errors import TfxdrError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import reproduce  # noqa: E402


def _step(csv):
    return reproduce.Step("clicks planted", "page.md", (
        "bench", "--models", "pop,ridge", "--dataset", str(csv), "--domains", "books,movies",
        "--seeds", "0,1", "--out", "runs/clicks-planted", "--no-timing"))


def _page(directory):
    begin, end = report.section_markers("clicks planted")
    page = directory / "page.md"
    page.write_text(f"# Page\n\nby hand\n\n{begin}\nstale\n{end}\n\nalso by hand\n")
    return page


@pytest.mark.integration
def test_a_bench_step_writes_its_section_the_same_from_nothing(planted_csv, tmp_path,
                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = _page(tmp_path)
    reproduce.run_step(_step(planted_csv), tmp_path)
    first = page.read_text()
    assert first.startswith("# Page\n\nby hand\n\n<!-- clicks planted: begin -->\n# pop, ridge")
    assert first.endswith("<!-- clicks planted: end -->\n\nalso by hand\n")
    assert "stale" not in first
    assert "| ridge | grid of 8 l2 on validation | books->movies | 2 |" in first
    assert "examples/s" not in first  # no timing table
    assert "--out runs/clicks-planted --no-timing" in first
    shutil.rmtree(tmp_path / "runs")
    _page(tmp_path)
    reproduce.run_step(_step(planted_csv), tmp_path)
    assert page.read_text() == first  # retrained from nothing: the same bytes
    page.write_text("# Page\n")
    with pytest.raises(TfxdrError) as raised:
        reproduce.run_step(_step(planted_csv), tmp_path)  # read back, then refused
    assert str(raised.value) == (f"{page}: has no <!-- clicks planted: begin --> ... "
                                 "<!-- clicks planted: end --> section to replace")
    assert page.read_text() == "# Page\n"


def test_a_failing_command_fails_its_step(planted_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "page.md").write_text("# Page\n")
    step = reproduce.Step("clicks planted", "page.md", ("bench", "--models", "nope",
                                                        "--dataset", str(planted_csv),
                                                        "--domains", "books,movies",
                                                        "--out", "runs/x"))
    with pytest.raises(TfxdrError, match=r"^step 'clicks planted' failed \(exit status 2\)$"):
        reproduce.run_step(step, tmp_path)


def test_only_names_sections_of_the_suite(capsys):
    with pytest.raises(SystemExit) as raised:
        reproduce.main(["--suite", "quick", "--only", "nope"])
    assert raised.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        "--only: 'nope' is not a section of the quick suite; expected some of clicks ml-100k "
        "Drama,Comedy, clicks ml-100k Romance,Thriller, ctr ml-100k Drama,Comedy, "
        "tune d2dtm ml-100k Drama,Comedy, "
        "tune d2dtm_paper ml-100k Drama,Comedy, tune d2dtm_cond ml-100k Drama,Comedy, "
        "tune multivae ml-100k Drama,Comedy, tune ridge ml-100k Drama,Comedy, "
        "tuned ml-100k Drama,Comedy, leaderboard table")
    assert reproduce.main(["--suite", "quick", "--only", "tuned ml-100k Drama,Comedy",
                           "--only", "leaderboard table", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "d2dtm_ml1m.md: tuned ml-100k Drama,Comedy", "leaderboard.md: leaderboard table"]
    assert reproduce.main(["--suite", "full", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "closed_form.md: clicks ml-1m Drama,Comedy", "closed_form.md: clicks ml-1m Action,Romance",
        "leaderboard.md: leaderboard ml-1m"]


def test_every_step_of_every_suite_has_its_section_in_its_page():
    pages = Path(__file__).resolve().parents[1] / "docs" / "results"
    for suite in ("quick", "full"):
        assert reproduce.missing_sections(reproduce.SUITES[suite], pages) == []


def test_a_page_without_a_steps_section_stops_the_suite_before_it_runs(tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "closed_form.md").write_text("# no sections\n")
    assert reproduce.main(["--suite", "full", "--pages", str(tmp_path),
                           "--only", "clicks ml-1m Drama,Comedy"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"reproduce.py: error: {tmp_path / 'closed_form.md'}: has no <!-- clicks ml-1m "
        "Drama,Comedy: begin --> ... <!-- clicks ml-1m Drama,Comedy: end --> section for "
        "step 'clicks ml-1m Drama,Comedy'")
    assert not (tmp_path / "runs").exists()
