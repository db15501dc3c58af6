"""The cross-domain CTR path end to end: cold-start split, instances, lr, AUC per domain."""

import json

import numpy as np
import pandas as pd
import pytest

from tfxdr.cli import main
from tfxdr.experiment import evaluate


@pytest.fixture()
def ctr_csv(tmp_path):
    """Two domains; a click is likely exactly on the 'good' half of each domain's items."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(300):
        clock = 1_000_000 + user * 500_000
        for domain, prefix in (("movies", "m"), ("books", "b")):
            for _ in range(12):
                item = int(rng.integers(0, 40))
                good = item % 2 == 0
                label = int(rng.random() < (0.85 if good else 0.15))
                clock += int(rng.integers(600, 30_000))
                rows.append((f"u{user}", f"{prefix}{item}", domain, clock, label))
    path = tmp_path / "clicks.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp", "label"]).to_csv(
        path, index=False)
    return path


def test_lr_learns_planted_clicks_and_evaluate_reproduces(ctr_csv, tmp_path):
    out = tmp_path / "run"
    code = main(["train", "lr", "--dataset", str(ctr_csv), "--domains", "movies,books",
                 "--out", str(out), "--epochs", "15", "--quiet", "--set", "batch_size=256"])
    assert code == 0
    report = json.loads((out / "metrics.json").read_text())
    target = report["metrics"]["books"]
    assert set(target) == {"auc", "logloss", "instances"}
    # The planted item effect gives an AUC near 0.85 / 0.15 separation; chance is 0.5.
    assert target["auc"] > 0.75
    assert 0 < target["logloss"] < 0.69
    split = pd.read_parquet(out / "split" / "interactions.parquet")
    evaluated = split[split["split"].isin(["val", "test"])]
    assert set(evaluated["domain"]) == {"books"}  # only the target domain is evaluated
    spec = json.loads((out / "split" / "spec.json").read_text())
    assert spec["kind"] == "cold_start" and spec["a_train"] == 0.8 and spec["a_cross"] == 0.1
    rescored = evaluate(out)["metrics"]["books"]
    assert rescored["auc"] == pytest.approx(target["auc"], abs=1e-9)
    assert rescored["logloss"] == pytest.approx(target["logloss"], abs=1e-6)
