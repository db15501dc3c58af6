"""The before/after table script, on bench outputs written by hand."""

import json
from pathlib import Path

from scripts import load_benchmark


def _write(bench: Path, seed: int, auc: float) -> None:
    run = bench / "din" / f"seed-{seed}"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(
        {"seed": seed, "metrics": {"Comedy": {"auc": auc, "logloss": 0.6}}}))


def test_rows_compare_the_seeds_both_benches_ran(tmp_path):
    for seed, auc in ((0, 0.70), (1, 0.72), (2, 0.99)):
        _write(tmp_path / "before", seed, auc)
    for seed, auc in ((0, 0.71), (1, 0.74)):
        _write(tmp_path / "after", seed, auc)
    script = load_benchmark("before_after")
    table = script.table(script.collect(tmp_path / "before", "auc"),
                         script.collect(tmp_path / "after", "auc"), "auc").splitlines()
    # Seed 2 ran before only and is left out.  Differences 0.01 and 0.02: mean 0.015,
    # sample std 0.00707, t = 0.015 / (0.00707 / sqrt(2)) = 3.00.  Before: 0.71 ± 0.0141,
    # after: 0.725 ± 0.0212.
    assert table[2] == ("| din | Comedy | 2 | 0.7100 ± 0.0141 | 0.7250 ± 0.0212 | "
                        "+0.0150 (t = 3.00) |")
    assert len(table) == 3
