"""The foundation's promise on real MovieLens data: the translation models beat popularity
both ways, by a margin, and export what they learned."""

import json

import numpy as np
import pytest

from tfxdr.cli import main

pytestmark = pytest.mark.integration


def _run(tmp_path, model, dataset, epochs, *extra, domains="Drama,Comedy"):
    out = tmp_path / f"{model}-{dataset}-{domains.replace(',', '-')}"
    code = main(["train", model, "--dataset", dataset, "--domains", domains,
                 "--out", str(out), "--epochs", str(epochs), "--quiet", *extra])
    assert code == 0
    return json.loads((out / "metrics.json").read_text())


def test_multivae_beats_pop_on_ml1m_drama_comedy(tmp_path):
    pop = _run(tmp_path, "pop", "ml-1m", 1)
    vae = _run(tmp_path, "multivae", "ml-1m", 30, "--set", "eval_every=5")
    for key in ("Drama->Comedy", "Comedy->Drama"):
        for name in ("recall@10", "recall@20", "recall@50", "ndcg@10", "ndcg@20", "ndcg@50"):
            assert name in vae["metrics"][key]
        # Reference points: popularity about 0.36 / 0.39 Recall@50, tuned Multi-VAE about
        # 0.50.  Measured (seed 0): popularity 0.353 / 0.385, this Multi-VAE 0.478 / 0.480.
        assert 0.30 < pop["metrics"][key]["recall@50"] < 0.42
        assert vae["metrics"][key]["recall@50"] > pop["metrics"][key]["recall@50"] + 0.05


def test_d2dtm_export_and_beats_pop_on_ml100k_romance_thriller(tmp_path):
    import tensorflow as tf

    from tfxdr import experiment

    pop = _run(tmp_path, "pop", "ml-100k", 1, domains="Romance,Thriller")
    d2dtm = _run(tmp_path, "d2dtm", "ml-100k", 40, "--set", "eval_every=5",
                 domains="Romance,Thriller")
    # Measured (seed 0): Recall@50 0.778 / 0.804 against popularity's 0.651 / 0.698.
    for key in ("Romance->Thriller", "Thriller->Romance"):
        assert d2dtm["metrics"][key]["recall@50"] > pop["metrics"][key]["recall@50"] + 0.05
    run_dir = tmp_path / "d2dtm-ml-100k-Romance-Thriller"
    assert main(["export", str(run_dir)]) == 0
    served = tf.saved_model.load(str(run_dir / "export" / "1"))
    # ML-100K has integer item ids: the signatures take int64 ids padded with -1.
    request = tf.constant([[50, 100, -1]], tf.int64)
    out = served.signatures["Thriller_to_Romance"](item_ids=request)
    assert out["top_k_ids"].dtype == tf.int64 and out["top_k_ids"].shape == (1, 50)
    run = experiment.load_run(run_dir)
    expected = np.array(run.model.translate({"items_Thriller": request}, 1, 0))
    # Movie 50 (Star Wars) is also a Romance item: the user has it, so it is not
    # recommended back; every other score is the model's.
    position = {int(raw): i for i, raw in enumerate(run.spec["items_Romance"].vocabulary)}
    assert 50 in position and 100 not in position
    expected[0, position[50]] = -np.inf
    np.testing.assert_allclose(out["scores"].numpy(), expected, atol=1e-5)
    # The top 50 are the best 50 scores, and each id is the Romance item with that score.
    chosen = [position[i] for i in out["top_k_ids"].numpy()[0]]
    np.testing.assert_allclose(out["top_k_scores"].numpy()[0], np.sort(expected[0])[::-1][:50],
                               atol=1e-5)
    np.testing.assert_allclose(expected[0, chosen], out["top_k_scores"].numpy()[0], atol=1e-5)
