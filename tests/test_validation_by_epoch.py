"""The validation-by-epoch table, on run histories written by hand."""

from pathlib import Path

from scripts import load_benchmark


def _history(bench: Path, label: str, seed: int, scores: list) -> None:
    run = bench / label / f"seed-{seed}"
    run.mkdir(parents=True)
    rows = "".join(f"{epoch},{'' if s is None else s}\n" for epoch, s in enumerate(scores, 1))
    (run / "history.csv").write_text("epoch,val_selection\n" + rows)


def test_epochs_line_up_by_validation_and_a_row_needs_every_seed(tmp_path):
    # A phased model validates only its last epochs; the second seed stopped early.
    _history(tmp_path, "phased", 0, [None, None, 0.1, 0.3, 0.5])
    _history(tmp_path, "phased", 1, [None, None, 0.2, 0.4])
    _history(tmp_path, "plain", 0, [0.05, 0.15, 0.25])
    table = load_benchmark("validation_by_epoch").table(tmp_path, ["phased", "plain"])
    assert table.splitlines() == [
        "| validated epoch | phased (2 seeds) | plain (1 seed) |",
        "|---|---|---|",
        "| 1 | 0.1500 | 0.0500 |",
        "| 2 | 0.3500 | 0.1500 |",
        "| 3 |  | 0.2500 |"]
