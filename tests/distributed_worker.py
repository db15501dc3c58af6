"""One worker of a loopback cluster: DADIN's toy model (two players, two optimizers)
trained with tfxdr's multi-worker strategy; writes its weights to OUT.npz.

    python tests/distributed_worker.py INDEX OUT.npz PORT [PORT ...]
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

index, out, ports = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
os.environ["TF_CONFIG"] = json.dumps({
    "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
    "task": {"type": "worker", "index": index}})

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfxdr.distribute import multi_worker_strategy  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dadin_toy_moons.py"
spec = importlib.util.spec_from_file_location("dadin_toy_moons", EXAMPLE)
toy = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = toy
spec.loader.exec_module(toy)

strategy = multi_worker_strategy()
data = toy.toy_data(seed=0)
x = np.concatenate([data.source_x, data.target_train_x]).astype("float32")
y = np.concatenate([data.source_y, data.target_train_y]).astype("float32")
domain = np.concatenate([np.zeros(len(data.source_x)),
                         np.ones(len(data.target_train_x))]).astype("float32")
weight = np.concatenate([np.ones(len(data.source_x)),
                         np.zeros(len(data.target_train_x))]).astype("float32")
toy.set_seed(0)
with strategy.scope():
    model = toy.DADINToy(None, toy.ToyConfig(), seed=0)
    model.build()
    model.compile(optimizer=keras.optimizers.Adam(0.01), d_optimizer=keras.optimizers.Adam(0.01))
batches = tf.data.Dataset.from_tensor_slices(({"x": x, "domain": domain}, y, weight)).batch(64)
history = model.fit(batches, epochs=3, verbose=0, shuffle=False)
np.savez(out, *model.get_weights(), steps=[int(model.optimizer.iterations.numpy()),
                                           int(model.d_optimizer.iterations.numpy())],
         loss=history.history["loss"])
