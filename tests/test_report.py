"""Run summaries: statistics by hand, and the bench command end to end."""

import json
import math
import re

import numpy as np
import pytest

from tfxdr.cli import main
from tfxdr.report import (markdown_table, mean_std, metric_rows_table, paired_differences,
                          setting_rows_table)


def _report(model, seed, recall):
    return {"model": model, "seed": seed, "metrics": {"A->B": {"recall@50": recall}},
            "epochs_run": 3, "train_seconds": 1.0, "examples_per_second": 10.0}


def test_mean_std_and_paired_t_by_hand():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([5.0]) == (5.0, 0.0)
    # differences 0.1, 0.2, 0.3: mean 0.2, std 0.1, t = 0.2 / (0.1 / sqrt 3) = 3.4641
    diff = paired_differences({0: 0.5, 1: 0.6, 2: 0.7}, {0: 0.4, 1: 0.4, 2: 0.4, 9: 1.0})
    assert diff["mean_difference"] == pytest.approx(0.2)
    assert diff["t"] == pytest.approx(2 * math.sqrt(3))
    assert diff["seeds"] == 3


def test_markdown_table_cells():
    table = markdown_table([_report("m", 0, 0.5), _report("m", 1, 0.7)], ["recall@50"])
    assert "| m | A->B | 2 | 0.6000 ± 0.1414 |" in table.splitlines()
    with_settings = markdown_table([_report("m", 0, 0.5)], ["recall@50"], {"m": "tuned, 3 trials"})
    assert with_settings.splitlines() == ["| model | settings | key | seeds | recall@50 |",
                                          "|---|---|---|---|---|",
                                          "| m | tuned, 3 trials | A->B | 1 | 0.5000 ± 0.0000 |"]


def test_metric_rows_table_puts_models_in_columns_and_bolds_each_rows_best():
    def run(model, seed, hr, ndcg):
        return {"model": model, "seed": seed,
                "metrics": {"Drama": {"hr@10": hr, "ndcg@10": ndcg}, "Comedy": {"hr@10": 0.0}}}

    reports = [run("a", 0, 0.2, 0.1), run("a", 1, 0.4, 0.1), run("b", 0, 0.25, 0.3)]
    assert metric_rows_table(reports, "Drama", ["hr@10", "ndcg@10"]).splitlines() == [
        "| Drama | a | b |",
        "|---|---|---|",
        "| hr@10 | **0.3000 ± 0.1414** | 0.2500 |",
        "| ndcg@10 | 0.1000 ± 0.0000 | **0.3000** |"]


def test_paper_table_reads_a_benchs_kept_runs_under_their_labels(tmp_path):
    from scripts import load_benchmark

    for label, seed, value in (("one", 0, 0.5), ("one", 1, 0.7), ("two", 0, 0.1)):
        run = tmp_path / label / f"seed-{seed}"
        run.mkdir(parents=True)
        metrics = {m: value for m in ("hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10",
                                      "ndcg@20")}
        metrics.update({f"full_{m}": value / 2 for m in list(metrics)})
        (run / "metrics.json").write_text(json.dumps(
            {"model": "same", "seed": seed, "metrics": {"Drama": metrics}}))
    text = load_benchmark("paper_table").tables(tmp_path, ["one", "two"])
    assert text.startswith("Seeds one 0, 1; two 0; test split;")
    assert "| Drama | one | two |" in text
    assert "| hr@10 | **0.6000 ± 0.1414** | 0.1000 |" in text
    assert "| full_ndcg@20 | **0.3000 ± 0.0707** | 0.0500 |" in text
    recall = load_benchmark("paper_table").tables(tmp_path, ["one", "two"],
                                                  [("Recall", ("hr@5",))])
    assert "Recall:" in recall and "| hr@5 | **0.6000 ± 0.1414** | 0.1000 |" in recall
    assert "hr@10" not in recall
    with pytest.raises(SystemExit, match="three: no finished seed-N runs"):
        load_benchmark("paper_table").tables(tmp_path, ["three"])


def test_setting_rows_table_puts_settings_in_rows_and_leaves_missing_models_blank():
    def run(label, seed, value):
        return {"label": label, "model": "m", "seed": seed, "metrics": {"A": {"hr@10": value}}}

    sweep = {"0.1": [run("x", 0, 0.2), run("x", 1, 0.4), run("y", 0, 0.25)],
             "0.5": [run("y", 0, 0.5)]}
    assert setting_rows_table(sweep, "A", "hr@10", "ratio").splitlines() == [
        "| ratio | x | y |",
        "|---|---|---|",
        "| 0.1 | **0.3000 ± 0.1414** | 0.2500 |",
        "| 0.5 |  | **0.5000** |"]


def test_overlap_table_counts_each_ratios_users_and_tabulates_its_runs(tmp_path,
                                                                       small_overlap_csv):
    import dataclasses

    from scripts import load_benchmark

    from tfxdr.experiment import DataConfig

    csv = small_overlap_csv  # u0-u3 in both domains, u4 in books only
    for ratio, value in (("0.5", 0.4), ("0.25", 0.3)):
        data = DataConfig(dataset=str(csv), domains=("books", "music"), overlap_ratio=float(ratio))
        run = tmp_path / "sweep" / f"ratio-{ratio}" / "m" / "seed-3"
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"seed": 3, "data": dataclasses.asdict(data)}))
        (run / "metrics.json").write_text(json.dumps({"model": "m", "seed": 3, "metrics": {
            "music": {metric: value for metric in ("hr@10", "ndcg@10", "full_hr@10",
                                                   "full_ndcg@10")}}}))
    script = load_benchmark("overlap_table")
    # round(0.25 * 4) = 1 common user stays; of the 3 others, 2 keep books, 1 music.
    assert script.data_table(tmp_path / "sweep", "m").splitlines() == [
        "| overlap ratio | books users | music users | users in both |",
        "|---|---|---|---|",
        "| 0.25 | 4 | 2 | 1 |",
        "| 0.5 | 4 | 3 | 2 |"]
    text = script.tables(tmp_path / "sweep", ["m"])
    assert "music, full_ndcg@10:\n\n| overlap ratio | m |\n|---|---|\n" \
        "| 0.25 | **0.3000** |\n| 0.5 | **0.4000** |" in text
    only = script.tables(tmp_path / "sweep", ["m"], metrics=("hr@10",))
    assert "music, hr@10:" in only and "ndcg" not in only


def test_bench_runs_models_and_seeds_and_resumes(planted_csv, tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["bench", "--models", "multivae,small=multivae,pop", "--dataset", str(planted_csv),
            "--domains", "books,movies", "--seeds", "0,1", "--out", str(out), "--epochs", "3",
            "--set", "multivae:hidden_dims=32", "--set", "multivae:latent_dim=8",
            "--set", "small:hidden_dims=8", "--set", "small:latent_dim=4", "--plot"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^bench: small seed 1: best epoch [1-3] of 3, \d+ s of training$", printed,
                     re.M)
    summary = (out / "summary.md").read_text()
    assert "```bash\ntfxdr " + " ".join(args) + "\n```" in summary
    assert "| model | settings | key | seeds | recall@10 |" in summary
    assert "| multivae | defaults; hidden_dims=32; latent_dim=8 | books->movies | 2 |" in summary
    assert "| small | defaults; hidden_dims=8; latent_dim=4 | books->movies | 2 |" in summary
    assert "| pop | nothing to tune | movies->books | 2 |" in summary
    assert "multivae - pop, books->movies:" in summary
    assert "multivae - small, movies->books:" in summary
    config = json.loads((out / "small" / "seed-0" / "config.json").read_text())
    assert config["model"] == "multivae" and config["config"]["latent_dim"] == 4
    assert (out / "recall_at_k.png").stat().st_size > 10_000
    finished = out / "pop" / "seed-1" / "metrics.json"
    stamp = finished.stat().st_mtime_ns
    assert main(args) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("bench")]
    assert printed == [f"bench: {label} seed {seed}: finished, read back from "
                       f"{out / label / f'seed-{seed}'}"
                       for label in ("multivae", "small", "pop") for seed in (0, 1)]
    assert finished.stat().st_mtime_ns == stamp


def test_bench_rejects_set_for_unlisted_model(planted_csv, tmp_path, capsys):
    code = main(["bench", "--models", "pop", "--dataset", str(planted_csv), "--domains",
                 "books,movies", "--out", str(tmp_path / "b"), "--set", "multivae:latent_dim=3"])
    assert code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tfxdr:")]
    assert err == ["tfxdr: error: --set 'multivae:latent_dim=3': expected LABEL:KEY=VALUE "
                   "with LABEL one of pop"]


def test_moving_average_by_hand():
    from tfxdr.report import moving_average

    np.testing.assert_allclose(moving_average([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(moving_average([4, 0, 2], 5), [4, 2, 2])


def test_by_history_groups_test_users_by_earlier_items_and_the_groups_add_up(tmp_path):
    """Users u0-u99 keep 4 books rows (3 before their test item), the others 8 (7)."""
    from scripts import load_benchmark

    from tfxdr.data.synthetic import planted_sequences
    from tfxdr.experiment import DataConfig, train

    frame = planted_sequences(num_users=300, items_per_domain=(120, 80), lengths=(8, 5), seed=3)
    short = frame["user_id"].str[1:].astype(int) < 100
    frame = frame[~(short & (frame["domain"] == "books")) |
                  (frame.groupby(["user_id", "domain"]).cumcount() < 4)]
    csv = tmp_path / "sequences.csv"
    frame.to_csv(csv, index=False)
    run = tmp_path / "bench" / "pop_seq" / "seed-0"
    report = train("pop_seq", DataConfig(dataset=str(csv), domains=("books", "movies")), run,
                   overrides=["max_len=6"], epochs=1, verbose=0)
    script = load_benchmark("by_history")
    assert script.groups([3, 6]) == [(0, 3), (4, 6), (7, np.inf)]
    assert [script.group_name(*g) for g in script.groups([0, 3])] == ["0", "1-3", "4+"]
    by_group = script.scores_by_group(run, "books", script.groups([2, 3, 6]))
    assert [users for users, _ in by_group] == [0, 100, 0, 200]
    for metric in ("hr@10", "full_ndcg@10"):  # the users' mean over groups is the whole's
        whole = sum(users * metrics[metric] for users, metrics in by_group if users) / 300
        assert whole == pytest.approx(report["metrics"]["books"][metric], abs=1e-6)
    text = script.table(tmp_path / "bench", "books", ["pop_seq"], script.groups([3]))
    assert text.splitlines()[2:5] == [
        "| items before | users | pop_seq hr@10 | pop_seq full_ndcg@10 |",
        "|---|---|---|---|",
        f"| 0-3 | 100 | {by_group[1][1]['hr@10']:.4f} | {by_group[1][1]['full_ndcg@10']:.4f} |"]


def test_selection_table_marks_the_setting_of_best_mean_validation_not_test(tmp_path):
    from scripts import load_benchmark

    for label, seed, rate, val, test in (("fm_lr1", 0, 0.001, 0.60, 0.70),
                                         ("fm_lr1", 1, 0.001, 0.70, 0.70),
                                         ("fm_lr3", 0, 0.003, 0.66, 0.50)):
        run = tmp_path / label / f"seed-{seed}"
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"config": {"learning_rate": rate}}))
        (run / "metrics.json").write_text(json.dumps({
            "seed": seed, "epochs_run": 12, "metrics": {"mean of domains": {"recall@50": test}},
            "validation": {"best_epoch": 7, "selection_score": val}}))
    lines = load_benchmark("selection_table").table(tmp_path, {"fm": ["fm_lr1", "fm_lr3"]})
    assert lines.splitlines()[2:] == [  # mean validation 0.65 (lr1) < 0.66 (lr3)
        "| fm | fm_lr1 | 0 | 0.001 | 12 | 7 | 0.6000 | 0.7000 |",
        "| fm | fm_lr1 | 1 | 0.001 | 12 | 7 | 0.7000 | 0.7000 |",
        "| fm | **fm_lr3** | 0 | 0.003 | 12 | 7 | **0.6600** | 0.5000 |"]
    lines = load_benchmark("selection_table").table(tmp_path, {"fm": ["fm_lr3", "fm_lr1"]},
                                                     seeds={1})
    assert lines.splitlines()[2:] == [  # seed 1 alone: lr3 has none
        "| fm | **fm_lr1** | 1 | 0.001 | 12 | 7 | **0.7000** | 0.7000 |"]
