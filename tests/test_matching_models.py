"""Matching models learn the planted groups; popularity cannot."""

import json

import pytest

from tfxdr.data.synthetic import planted_matching
from tfxdr.experiment import DataConfig, train

DOMAINS = ("books", "games", "music")
AFT_SIZES = ["dim=16", "g_layers=1", "g_heads=2", "d_heads=2", "ffn_dim=32", "conve_rows=4",
             "dropout=0", "learning_rate=0.01", "d_learning_rate=0.01", "patience=15"]


@pytest.fixture()
def planted_csv(tmp_path):
    path = tmp_path / "clicks.csv"
    planted_matching(num_users=240, domains=DOMAINS, block=30, clicks=8, seed=1).to_csv(
        path, index=False)
    return path


@pytest.mark.parametrize("name,overrides,epochs,low,high", [
    # Every held-out click is one of the 22-26 items of the user's block not yet
    # clicked: with the block first, the top 50 holds them all.
    ("two_tower", ["dim=16", "hidden_units=32", "learning_rate=0.01"], 15, 0.9, 1.0),
    ("shared_bottom", ["dim=16", "bottom_units=32", "tower_units=16", "learning_rate=0.01"],
     15, 0.9, 1.0),
    ("mmoe", ["dim=16", "expert_units=32", "tower_units=16", "learning_rate=0.01"], 15, 0.9,
     1.0),
    ("fm", ["dim=16", "learning_rate=0.01"], 15, 0.9, 1.0),
    # The discriminator against the generator's fakes (aft_d is the same discriminator
    # without them: tests/test_aft.py).
    ("aft", AFT_SIZES, 15, 0.8, 1.0),
    # Equal popularity: the block's items fall anywhere among the 120 (50/114 expected).
    ("pop_match", [], 1, 0.0, 0.65),
])
def test_matching_models_learn_the_planted_groups(name, overrides, epochs, low, high,
                                                  planted_csv, tmp_path):
    data = DataConfig(dataset=str(planted_csv), domains=DOMAINS, split_fractions=(0.5, 0.25,
                                                                                   0.25))
    report = train(name, data, tmp_path / "run", overrides=overrides + ["batch_size=32"],
                   epochs=epochs, verbose=0)
    for domain in DOMAINS:
        metrics = report["metrics"][domain]
        assert low <= metrics["recall@50"] <= high, (domain, metrics)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["task"] == "matching" and saved["split"]["kind"] == "chronological"
