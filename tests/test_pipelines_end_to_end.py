"""The whole pipeline on planted data: validate -> transform -> train -> evaluate ->
bless -> push, the served answers, training/serving skew, and the unblessed path."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("apache_beam")

import tensorflow as tf  # noqa: E402

from serving_paths import assert_served_alike  # noqa: E402
from tfxdr_pipelines.component import latest  # noqa: E402
from tfxdr_pipelines.config import load_config  # noqa: E402
from tfxdr_pipelines.runner import run_pipeline  # noqa: E402
from tfxdr_pipelines.trainer import read_examples  # noqa: E402

GROUP_ITEMS = 30


def _planted(tmp_path: Path, margin: float = 0.0) -> Path:
    # Three taste groups of 30 items per domain: a user of group g clicks 8 of A's
    # a{30g..30g+29} and 8 of B's b{30g..30g+29}, plus the one popular item of each.
    rng = np.random.default_rng(0)
    rows = ["user_id,item_id,domain,timestamp,rating"]
    for user in range(300):
        group = user % 3
        for domain in "ab":
            picks = rng.choice(GROUP_ITEMS, 8, replace=False)
            items = [f"{domain}{GROUP_ITEMS * group + p}" for p in picks] + [f"{domain}pop"]
            rows += [f"u{user},{item},{domain.upper()},{user * 100 + i},4"
                     for i, item in enumerate(items)]
    (tmp_path / "clicks.csv").write_text("\n".join(rows) + "\n")
    config = tmp_path / "pipeline.toml"
    config.write_text(
        '[pipeline]\nname = "planted"\n[data]\npath = "clicks.csv"\n'
        '[split]\ntrain = 60\neval = 15\ntest = 25\n'
        '[trainer]\nmodel = "multivae"\nepochs = 30\nset = ["learning_rate=0.01"]\n'
        f'[evaluator]\nmetric = "recall@10"\nmargin = {margin}\n')
    return config


def test_the_pipeline_pushes_a_blessed_model_that_serves_what_it_was_scored_on(tmp_path):
    config = load_config(_planted(tmp_path))
    out = tmp_path / "out"
    logged = []
    run_pipeline(config, out, log=logged.append)
    blessing = json.loads((latest(out, "Evaluator").output("blessing") / "blessing.json")
                          .read_text())
    # Scored through the served graph with raw ids, the candidate gets exactly the
    # recall tfxdr computed offline on the transformed rows.
    run = latest(out, "Trainer").output("model_run")
    offline = json.loads((run / "metrics.json").read_text())["metrics"]
    for pair in ("A->B", "B->A"):
        assert blessing["candidate"][pair] == pytest.approx(offline[pair]["recall@10"], abs=1e-12)
    # The planted groups are learnt: well above popularity, which is then beaten.
    assert blessing["baseline"]["name"] == "popularity in train (nothing pushed yet)"
    assert blessing["candidate"]["mean"] > blessing["baseline"]["mean"] + 0.1
    assert blessing["blessed"] is True

    version = out / "serving" / "planted" / "1"
    provenance = json.loads((version / "assets.extra" / "pipeline.json").read_text())
    trainer = latest(out, "Trainer").lineage
    assert provenance["model_sha256"] == trainer["outputs"]["model"]["sha256"]
    assert provenance["trainer_key"] == trainer["key"]

    # Skew: the served transform indexes the raw test rows as the Transform did.
    examples = latest(out, "ExampleGen").output("examples")
    raw = read_examples(examples, "test", {"item_id": "bytes", "user_id": "bytes",
                                           "domain": "bytes"})
    transformed = read_examples(latest(out, "Transform").output("transformed_examples"), "test",
                                {"item_id": "bytes", "item_index": "int"})
    assert list(raw["item_id"]) == list(transformed["item_id"])
    served = tf.saved_model.load(str(version)).signatures["item_index"](
        item_ids=tf.constant(raw["item_id"].to_numpy().astype(str)[None, :]))
    np.testing.assert_array_equal(served["item_index"].numpy()[0], transformed["item_index"])

    # A user's raw A items, over gRPC and REST from the local server: its B items come back.
    user = raw["user_id"].iloc[0]
    mine = raw[raw["user_id"] == user]
    request = {"item_ids": np.array([list(mine.loc[mine["domain"] == "A", "item_id"])],
                                    dtype=object)}
    answer = assert_served_alike(version, tmp_path / "serve", "A_to_B", request)
    top = [i.decode() for i in answer["top_k_ids"][0][:10]]
    group = int(user[1:]) % 3
    mine = {f"b{GROUP_ITEMS * group + p}" for p in range(GROUP_ITEMS)} | {"bpop"}
    assert sum(item in mine for item in top) >= 9

    # Unchanged inputs: every component is served from cache; nothing is pushed twice.
    again = []
    run_pipeline(config, out, log=again.append)
    assert [line for line in again if ": running" in line] == []
    assert sorted(p.name for p in (out / "serving" / "planted").iterdir()) == ["1"]


def test_an_unblessed_model_is_never_pushed(tmp_path):
    # A negative margin asks the candidate to beat popularity by more than recall allows.
    config = load_config(_planted(tmp_path, margin=-1.0))
    out = tmp_path / "out"
    logged = []
    run_pipeline(config, out, log=logged.append)
    assert any(line.startswith("Evaluator: NOT blessed: candidate recall@10 ") for line in logged)
    pushed = latest(out, "Pusher").lineage
    assert pushed["pushed"] is False and pushed["reason"].startswith("not blessed: ")
    assert not (out / "serving").exists()


@pytest.mark.integration
def test_the_ml100k_example_ends_with_a_served_model(tmp_path):
    # The README's example config, with 40 epochs: real data from validation to push.
    example = Path(__file__).resolve().parents[1] / "pipelines" / "examples" / "ml-100k.toml"
    config = tmp_path / "ml-100k.toml"
    text = example.read_text()
    assert "\nepochs = 0 " in text
    config.write_text(text.replace("\nepochs = 0 ", "\nepochs = 40 "))
    out = tmp_path / "out"
    logged = []
    run_pipeline(load_config(config), out, log=logged.append)
    test = read_examples(latest(out, "ExampleGen").output("examples"), "test",
                         {"user_id": "bytes", "item_id": "bytes", "domain": "bytes"})
    blessing = latest(out, "Evaluator").lineage
    assert blessing["blessed"] is True, blessing["reason"]
    version = out / "serving" / "ml100k" / "1"
    user = test[test["domain"] == "Drama"].groupby("user_id").size().idxmax()
    drama = list(test.loc[(test["user_id"] == user) & (test["domain"] == "Drama"), "item_id"])
    answer = assert_served_alike(version, tmp_path / "serve", "Drama_to_Comedy",
                                 {"item_ids": np.array([drama], dtype=object)})
    comedy = set(latest(out, "Transform").output("transform_graph")
                 .joinpath("transform_fn", "assets", "items").read_text().split())
    top = [i.decode() for i in answer["top_k_ids"][0]]
    assert len(top) == len(set(top)) >= 20 and set(top) <= comedy


def test_a_killed_trainer_resumes_when_the_step_runs_again(tmp_path, capsys):
    import os
    import signal
    import subprocess
    import sys
    import time

    config_path = _planted(tmp_path)
    config_path.write_text(config_path.read_text().replace(
        'set = ["learning_rate=0.01"]', 'set = ["learning_rate=0.01", "batch_size=16"]')
        .replace("epochs = 30", "epochs = 4"))
    config = load_config(config_path)
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    for out in (whole, resumed):
        run_pipeline(config, out, log=lambda line: None, until="Transform")
    run_pipeline(config, whole, log=lambda line: None, until="Trainer")
    process = subprocess.Popen(
        [sys.executable, "-m", "tfxdr_pipelines.cli", "step", "Trainer", str(config_path),
         "--output", str(resumed)], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    checkpoint = None
    while time.monotonic() < deadline:  # until the first epoch's checkpoint is written
        found = list((resumed / "Trainer" / ".runs").glob(".*.partial/checkpoints/resume.npz"))
        if found:
            checkpoint = found[0]
            break
        assert process.poll() is None
        time.sleep(0.01)
    assert checkpoint is not None, "the Trainer wrote no checkpoint in 300 s"
    process.send_signal(signal.SIGKILL)
    process.wait()
    capsys.readouterr()
    run_pipeline(config, resumed, log=lambda line: None, until="Trainer")
    assert "resuming " in capsys.readouterr().err
    runs = [latest(out, "Trainer").output("model_run") for out in (whole, resumed)]
    for name in ("history.csv", "steps.csv"):
        assert (runs[0] / name).read_text() == (runs[1] / name).read_text(), name
    metrics = [json.loads((run / "metrics.json").read_text()) for run in runs]
    assert metrics[0]["metrics"] == metrics[1]["metrics"]
    assert not (resumed / "Trainer" / ".runs").exists()  # the staging is gone once done


def test_two_trainer_workers_train_one_model_and_only_the_chief_writes_it(tmp_path,
                                                                          monkeypatch):
    import dataclasses
    import os
    import subprocess
    import sys

    from serving_paths import free_port
    from tfxdr_pipelines.errors import PipelineError
    from tfxdr_pipelines.runner import run_step

    config_path = _planted(tmp_path)
    config_path.write_text(config_path.read_text().replace("epochs = 30", "epochs = 6"))
    config = load_config(config_path)
    cluster, alone = tmp_path / "cluster", tmp_path / "alone"
    for out in (cluster, alone):
        run_pipeline(config, out, log=lambda line: None, until="Transform")
    run_pipeline(config, alone, log=lambda line: None, until="Trainer")
    ports = [free_port() for _ in range(2)]
    # In this process TensorFlow has run: too late to set up a cluster in it.
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
        "task": {"type": "worker", "index": 0}}))
    with pytest.raises(PipelineError, match=r"^Trainer: multi_worker training runs in a "
                       r"process of its own, after the components before it: run "):
        run_step("Trainer", dataclasses.replace(config, trainer=dataclasses.replace(
            config.trainer, strategy="multi_worker")), cluster, log=lambda line: None)
    assert not list((cluster / "Trainer").iterdir())  # no output, no LATEST
    monkeypatch.delenv("TF_CONFIG")
    workers = []
    for index in range(2):
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                     "task": {"type": "worker", "index": index}}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "tfxdr_pipelines.cli", "step", "Trainer", str(config_path),
             "--output", str(cluster), "--strategy", "multi_worker"],
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": json.dumps(tf_config)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    logs = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-2000:]
        logs.append(out)
    trainer = latest(cluster, "Trainer")
    assert trainer.lineage["replicas"] == 2 and trainer.lineage["parameters"]["trainer"][
        "strategy"] == "multi_worker"
    # Worker 1 ends with the chief's weights, to the bit, and leaves nothing behind.
    assert f"Trainer: worker 1 done; weights sha256 {trainer.lineage['weights_sha256']}" \
        in logs[1]
    assert "Trainer: running as a worker; the chief writes" in logs[1]
    assert not (cluster / "Trainer" / ".workers").exists()
    assert sorted(p.name for p in (cluster / "Trainer").iterdir()) == sorted(
        ["LATEST", trainer.key])
    # The same training as one process: the same number of steps, and the planted
    # groups learnt as well (Multi-VAE's dropout and noise draw differently per replica).
    runs = [latest(out, "Trainer").output("model_run") for out in (cluster, alone)]
    steps = [(run / "steps.csv").read_text().splitlines() for run in runs]
    assert len(steps[0]) == len(steps[1])
    metrics = [json.loads((run / "metrics.json").read_text())["metrics"] for run in runs]
    for pair in ("A->B", "B->A"):
        assert metrics[0][pair]["recall@10"] == pytest.approx(metrics[1][pair]["recall@10"],
                                                              abs=0.05)
