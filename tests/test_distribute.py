"""Multi-worker training on loopback: two worker processes end with the same weights
as each other and as one worker alone, for a model with two optimizers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from serving_paths import free_port
from tfxdr.distribute import fix_keras_for_multi_worker, is_chief, task_of_cluster
from tfxdr.errors import ConfigError

WORKER = Path(__file__).resolve().parent / "distributed_worker.py"


def _cluster(tmp_path, size):
    ports = [str(free_port()) for _ in range(size)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    processes = [subprocess.Popen([sys.executable, str(WORKER), str(i),
                                   str(tmp_path / f"{size}-{i}.npz"), *ports], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(size)]
    for process in processes:
        _, error = process.communicate(timeout=600)
        assert process.returncode == 0, error[-2000:]
    return [np.load(tmp_path / f"{size}-{i}.npz") for i in range(size)]


def test_two_workers_train_a_two_player_model_as_one_worker_does(tmp_path):
    assert fix_keras_for_multi_worker()  # the pinned Keras needs the fixes
    first, second = _cluster(tmp_path, 2)
    (alone,) = _cluster(tmp_path, 1)
    weights = sorted(k for k in first.files if k.startswith("arr_"))
    assert len(weights) > 4
    for name in weights:  # the same weights on both workers, to the bit
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    # 450 rows in global batches of 64, 3 epochs: 24 steps of each optimizer.
    assert list(first["steps"]) == list(alone["steps"]) == [24, 24]
    for name in weights:  # and as one worker with the whole batch, up to float sums
        np.testing.assert_allclose(first[name], alone[name], rtol=1e-4, atol=1e-5,
                                   err_msg=name)
    np.testing.assert_allclose(first["loss"], alone["loss"], rtol=1e-4)


def test_the_chief_is_the_chief_task_or_else_worker_zero():
    def config(kind, index, chief=False):
        cluster = {"worker": ["a:1", "b:1"], **({"chief": ["c:1"]} if chief else {})}
        return {"TF_CONFIG": json.dumps({"cluster": cluster,
                                         "task": {"type": kind, "index": index}})}

    assert task_of_cluster(config("worker", 1)) == ("worker", 1)
    assert is_chief(config("worker", 0)) and not is_chief(config("worker", 1))
    assert is_chief(config("chief", 0, chief=True))
    assert not is_chief(config("worker", 0, chief=True))


def test_a_missing_or_malformed_tf_config_is_one_line_naming_it():
    for environ in ({}, {"TF_CONFIG": "{"}, {"TF_CONFIG": '{"cluster": {}}'}):
        with pytest.raises(ConfigError) as raised:
            task_of_cluster(environ)
        assert str(raised.value).startswith("TF_CONFIG: multi-worker training needs the "
                                            "cluster in TF_CONFIG, e.g. ")
        assert raised.value.field == "TF_CONFIG"
