"""The DAAN report tables, on bench outputs written by hand."""

import json
from pathlib import Path

from scripts import load_benchmark


def _tables():
    return load_benchmark("cnan_at_tables")


def _write(bench: Path, label: str, seed: int, drama: float, comedy: float) -> None:
    run = bench / label / f"seed-{seed}"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({
        "seed": seed, "domains": ["Drama", "Comedy"],
        "metrics": {"Drama": {"auc": drama}, "Comedy": {"auc": comedy}}}))


def test_self_train_reads_each_domain_from_its_own_model_and_differences_are_paired(tmp_path):
    for seed, shift in ((0, 0.0), (1, 0.02)):
        _write(tmp_path, "srconly", seed, 0.70 + shift, 0.55)
        _write(tmp_path, "self", seed, 0.52, 0.60 + shift)
        _write(tmp_path, "cnan_at", seed, 0.71 + shift, 0.63 + shift + 0.01 * seed)
    table, domains = _tables().comparison([tmp_path])
    assert domains == ("Drama", "Comedy")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()}
    # Drama from srconly (0.70, 0.72), Comedy from self (0.60, 0.62).
    assert rows["Self-train"] == ("| Self-train | 2 | 0.7100 ± 0.0141 | 0.6100 ± 0.0141 | "
                                  "+0.0100 | +0.0350 (t = 7.0) |")
    assert rows["FineTune"] == "| FineTune | 0 | – | – |  |  |"


def test_sweep_gives_the_relative_improvement_over_self_train(tmp_path):
    sweep = tmp_path / "sweep"
    _write(tmp_path, "cnan_at", 0, 0.70, 0.66)
    _write(tmp_path, "self", 0, 0.50, 0.60)
    _write(sweep, "cnan_at_0.1", 0, 0.70, 0.55)
    _write(sweep, "self_0.1", 0, 0.50, 0.50)
    lines = _tables().sweep([tmp_path], sweep, "Comedy").splitlines()
    assert lines[2] == "| target data | 10% | 100% |"
    assert lines[6] == "| Improvement | +10.0% | +10.0% |"
    assert lines[7] == "| CNAN-AT − Self-train | +0.0500 | +0.0600 |"
