"""The leaderboard: which rows are held out, how recommendations are scored (by hand),
and a small leaderboard across families on planted data, read back when rerun."""

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tfxdr import report
from tfxdr.data.domains import Interactions
from tfxdr.errors import DataError
from tfxdr.leaderboard import HeldOut, hold_out, score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import leaderboard as script  # noqa: E402


def _interactions():
    """u0-u5 click in both domains, u6 only in A, u7 only in B; b9 is clicked by u5 alone."""
    rows = [(f"u{u}", f"a{u % 3}", "A") for u in range(7)]
    rows += [(f"u{u}", f"b{u % 2}", "B") for u in list(range(6)) + [7]]
    rows += [("u5", "b9", "B"), ("u0", "a2", "A")]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "domain"])
    return Interactions(frame, ("A", "B"), None, None, "toy")


def test_hold_out_hides_the_target_rows_of_a_seeded_share_of_the_users_in_both():
    held = hold_out(_interactions(), seed=3, fraction=0.5)
    drawn = set(held.users)
    assert len(drawn) == 3 and drawn <= {f"u{u}" for u in range(6)}
    assert list(held.users) == sorted(drawn)
    training = held.training.frame
    # The drawn users keep their source rows and lose every target row.
    assert set(training.loc[training["domain"] == "A", "user_id"]) == {f"u{u}" for u in range(7)}
    assert not set(training.loc[training["domain"] == "B", "user_id"]) & drawn
    expected = {(f"u{u}", f"b{u % 2}") for u in range(6) if f"u{u}" in drawn}
    expected |= {("u5", "b9")} if "u5" in drawn else set()
    assert set(map(tuple, held.hidden.to_numpy())) == expected
    assert len(training) + len(held.hidden) == len(_interactions().frame)
    # b9 is in the catalogue only if u5 kept it.
    assert list(held.catalogue) == (["b0", "b1"] if "u5" in drawn else ["b0", "b1", "b9"])
    assert (held.source, held.target) == ("A", "B")
    again = hold_out(_interactions(), seed=3, fraction=0.5)
    assert list(again.users) == list(held.users)
    draws = {tuple(hold_out(_interactions(), seed=s, fraction=0.5).users) for s in range(8)}
    assert len(draws) > 1


def test_hold_out_refuses_other_than_two_domains_and_bad_fractions():
    three = Interactions(_interactions().frame, ("A", "B", "C"), None, None, "toy")
    with pytest.raises(DataError) as raised:
        hold_out(three, 0)
    assert str(raised.value) == ("the leaderboard takes exactly 2 domains, source and target; "
                                 "got 3 (A, B, C)")
    with pytest.raises(DataError, match=r"^fraction 1 is invalid: expected a share in \(0, 1\)$"):
        hold_out(_interactions(), 0, fraction=1.0)


def _held(hidden):
    frame = pd.DataFrame(columns=["user_id", "item_id", "domain"])
    return HeldOut(Interactions(frame, ("A", "B"), None, None, "toy"),
                   pd.DataFrame(hidden, columns=["user_id", "item_id"]),
                   np.array(["u1", "u2"], dtype=object),
                   np.array(["b1", "b2", "b3", "b4"], dtype=object), "A", "B")


def test_scores_are_recall_and_ndcg_of_the_top_lists_by_hand():
    # u1 must find b2 and b5 (an item of no training row); u2 finds b3.
    held = _held([("u1", "b2"), ("u1", "b5"), ("u2", "b3")])
    recommended = pd.DataFrame({"user_id": ["u2", "u1", "u1"], "domain": "B",
                                "rank": [1, 1, 2], "item_id": ["b3", "b1", "b2"],
                                "score": [0.9, 0.8, 0.7]})
    metrics = score(recommended, held, ks=(1, 2))
    np.testing.assert_allclose(metrics["recall@1"], [0.0, 1.0])
    np.testing.assert_allclose(metrics["recall@2"], [0.5, 1.0])  # b5 counts, never hit
    discount = 1 / math.log2(3)
    np.testing.assert_allclose(metrics["ndcg@2"], [discount / (1 + discount), 1.0])
    np.testing.assert_allclose(metrics["ndcg@1"], [0.0, 1.0])


def test_a_recommended_item_outside_the_catalogue_is_an_error():
    held = _held([("u1", "b2")])
    recommended = pd.DataFrame({"user_id": ["u1"], "domain": "B", "rank": [1],
                                "item_id": ["zz"], "score": [1.0]})
    with pytest.raises(DataError) as raised:
        score(recommended, held, ks=(1,))
    assert str(raised.value) == "recommendations: item 'zz' is not a held-out item of B"


@pytest.mark.integration
def test_a_leaderboard_across_families_on_planted_data(planted_csv, tmp_path, capsys):
    out, page = tmp_path / "board", tmp_path / "page.md"
    begin, end = report.section_markers(script.SECTION)
    page.write_text(f"# Board\n\nprose before\n\n{begin}\nold\n{end}\n\nafter\n")
    study = tmp_path / "study"  # as `tfxdr tune lr --trials 3` leaves it
    study.mkdir()
    (study / "best_config.json").write_text('{"learning_rate": 0.02, "l2": 0.0}')
    (study / "trials.csv").write_text(
        "number,state,value,best_epoch,params,run_dir,note\n"
        "0,FAIL,,,{},trials/trial-000,interrupted; run again as trial 1\n"
        "1,COMPLETE,0.7,2,{},trials/trial-000,\n2,PRUNED,,4,{},trials/trial-002,\n"
        "3,COMPLETE,0.6,3,{},trials/trial-003,\n")
    argv = ["--dataset", str(planted_csv), "--domains", "books,movies", "--out", str(out),
            "--models", "pop,ridge,pop_seq,pop_match,lr", "--config",
            f"lr:{study / 'best_config.json'}", "--seeds", "0", "--page", str(page)]
    assert script.main(argv) == 0
    capsys.readouterr()
    tables = {label: pd.read_csv(out / "seed-0" / label / "held_out_users.csv",
                                 dtype={"user_id": str})
              for label in ("pop", "ridge", "pop_seq", "pop_match", "lr")}
    users = tables["pop"]["user_id"].tolist()
    assert len(users) == 150  # a quarter of the 600 users, who all click in both domains
    for table in tables.values():
        assert table["user_id"].tolist() == users
    # The planted groups carry over from books to movies: ridge finds them, the
    # popularity of each family does not.
    for label in ("pop", "pop_seq", "pop_match"):
        assert tables["ridge"]["recall@10"].mean() > tables[label]["recall@10"].mean() + 0.25
    text = page.read_text()
    assert text.startswith(f"# Board\n\nprose before\n\n{begin}\nRegenerate")
    assert text.endswith(f"\n{end}\n\nafter\n")
    assert "| ridge | click translation | grid of 8 l2 on validation | 1 |" in text
    assert "| pop | click translation | nothing to tune | 1 |" in text
    assert "| lr | CTR | tuned, 3 trials | 1 |" in text and "old" not in text
    assert json.loads((out / "seed-0" / "lr" / "config.json").read_text())["config"][
        "learning_rate"] == 0.02
    assert (tmp_path / "page.png").is_file()

    # Rerun: every run and score is read back, the page is the same.
    assert script.main(argv) == 0
    assert capsys.readouterr().out.count("finished, read back") == 5
    assert page.read_text() == text
    # A finished run of other settings is refused, naming the setting.
    assert script.main([*argv[:-2], "--set", "ridge:l2=5"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (f"leaderboard.py: error: {out / 'seed-0' / 'ridge'}: a finished run of "
                     "other settings (config.l2 (saved [10.0, 30.0, 100.0, 300.0, 1000.0, "
                     "3000.0, 10000.0, 30000.0], asked [5.0]) differs); choose another --out, "
                     "or remove it to train it again")
    # Retrained after its run is removed, a model's scores go with the old run.
    shutil.rmtree(out / "seed-0" / "pop")
    assert script.main(argv) == 0
    assert "pop (pop) seed 0 -> " in capsys.readouterr().out
    assert page.read_text() == text


@pytest.mark.parametrize("extra, message", [
    (["--set", "nosuch:l2=5"], "--set 'nosuch:l2=5': expected LABEL:KEY=VALUE with LABEL one "
                               "of pop, ridge"),
    (["--set", "ridge:bogus=1"], "unknown config field 'bogus' for RidgeConfig"),
    (["--config", "ridge:a.json", "--config", "ridge:b.json"], None),
    (["--seeds", "0,a"], "--seeds '0,a': expected comma-separated integers"),
    (["--section", "nosuch"], "has no <!-- nosuch: begin --> ... <!-- nosuch: end --> "
                              "section to replace"),
])
def test_bad_leaderboard_input_is_one_line_before_any_training(tmp_path, capsys, monkeypatch,
                                                               extra, message):
    page = tmp_path / "page.md"
    page.write_text("# Board\n")
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text("{}")
    argv = ["--dataset", "nosuch-dataset", "--domains", "books,movies", "--out",
            str(tmp_path / "board"), "--models", "pop,ridge", "--page", str(page), *extra]
    monkeypatch.chdir(tmp_path)
    assert script.main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("leaderboard.py: error: ")
    if message is None:
        message = "--config: ridge has 2 config files (a.json, b.json); expected one"
    assert message in error
    assert not (tmp_path / "board").exists()
