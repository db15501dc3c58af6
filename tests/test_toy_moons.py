"""DADIN's toy experiment (examples/dadin_toy_moons.py): the adversarial pieces compose."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dadin_toy_moons.py"


@pytest.fixture(scope="module")
def toy():
    spec = importlib.util.spec_from_file_location("dadin_toy_moons", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_moons_and_rotation(toy):
    data = toy.toy_data(seed=0)
    assert data.source_x.shape == (300, 2) and data.target_train_x.shape == (150, 2)
    assert data.target_test_x.shape == (150, 2)
    assert data.source_y.sum() == 150  # balanced classes
    rotated = toy.rotate(np.array([[1.0, 0.0], [0.0, 2.0]]), 35.0)
    c, s = np.cos(np.deg2rad(35)), np.sin(np.deg2rad(35))
    np.testing.assert_allclose(rotated, [[c, s], [-2 * s, 2 * c]], rtol=1e-6)


def test_adversarial_module_beats_the_same_dnn_on_held_out_target_points(toy, tmp_path):
    results = [toy.compare(seed) for seed in range(4)]
    dnn = np.mean([r["scores"]["dnn"] for r in results])
    dadin = np.mean([r["scores"]["dadin_toy"] for r in results])
    # Measured: 0.85 against 0.71 on these draws; validation draws 100-105 chose the warm-up.
    assert dadin > dnn + 0.05, (dadin, dnn)
    plain, adversarial = results[0]["models"]["dnn"], results[0]["models"]["dadin_toy"]
    # Same network; only DADIN-toy has domain classifiers (global, positive, negative:
    # a kernel and a bias each), trained by the second optimizer.
    assert [v.shape for v in plain.generator_variables()] == [
        v.shape for v in adversarial.generator_variables()]
    assert plain.discriminator_variables() == []
    assert len(adversarial.discriminator_variables()) == 6
    assert int(adversarial.d_optimizer.iterations) == int(adversarial.optimizer.iterations) == 300
    path = tmp_path / "boundaries.png"
    toy.plot_boundaries(results[0], str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
