"""Multi-worker training with ``tf.distribute.MultiWorkerMirroredStrategy``.

Keras 3.15's ``fit`` fails under that strategy on TensorFlow 2.21 at two points
(keras-team/keras#20585, tensorflow/tensorflow#72388), and
:func:`multi_worker_strategy` fixes both, for the Keras versions that have them:

- before the first step, ``fit`` builds the model from one batch by
  averaging the workers' batches with a collective reduce, which cannot take
  the per-replica batch; one replica's batch carries the shapes the build needs;
- the step's logs are averaged across workers along axis 0, which scalar logs
  (every loss and metric) do not have; they are averaged as scalars.

Gradients are all-reduced by the optimizers as usual, so every worker ends
each step with the same weights (both optimizers of a two-player model too).
tfxdr's training step divides each replica's gradients by the number of
replicas, and a masked mean over the batch divides by the count over all
replicas (:func:`tfxdr.ops.masked_mean`), so a step on N workers is the step
on the whole batch in one process, up to the order of float sums.
"""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf

from tfxdr.errors import ConfigError

LATE_STRATEGY = ("the multi-worker strategy must be created before TensorFlow runs "
                 "anything in the process; train in a process of its own")
_FIXED_KERAS = ((3, 12), (3, 16))  # [first, last) minor versions known to need the fixes


def _keras_version() -> tuple[int, int]:
    major, minor = keras.__version__.split(".")[:2]
    return int(major), int(minor)


def multi_worker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """The strategy of the cluster ``TF_CONFIG`` describes, with Keras fixed for it.

    Raises:
        ConfigError: ``TF_CONFIG`` is unset or malformed, or TensorFlow already ran
            something in this process (collectives are set up before that).
    """
    task_of_cluster()
    fix_keras_for_multi_worker()
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        if "at program startup" not in str(error):
            raise
        raise ConfigError(LATE_STRATEGY, field="TF_CONFIG") from None


def task_of_cluster(environ=os.environ) -> tuple[str, int]:
    """This process's ``(type, index)`` in the cluster ``TF_CONFIG`` describes.

    Raises:
        ConfigError: ``TF_CONFIG`` is unset or does not name this task.
    """
    text = environ.get("TF_CONFIG", "")
    try:
        task = json.loads(text)["task"] if text else None
        kind, index = str(task["type"]), int(task["index"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError("TF_CONFIG: multi-worker training needs the cluster in TF_CONFIG, "
                          "e.g. {\"cluster\": {\"worker\": [\"host1:port\", \"host2:port\"]}, "
                          "\"task\": {\"type\": \"worker\", \"index\": 0}}",
                          field="TF_CONFIG") from None
    return kind, index


def is_chief(environ=os.environ) -> bool:
    """Whether this task writes the cluster's results: the ``chief`` task, or worker 0
    of a cluster without one (as ``MultiWorkerMirroredStrategy`` decides)."""
    kind, index = task_of_cluster(environ)
    cluster = json.loads(environ["TF_CONFIG"]).get("cluster", {})
    return kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cluster)


def fix_keras_for_multi_worker() -> bool:
    """Applies the two fixes once, where the Keras version needs them; returns
    whether they are in place."""
    if not _FIXED_KERAS[0] <= _keras_version() < _FIXED_KERAS[1]:
        return False
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer, "_tfxdr_multi_worker_fix", False):
        return True
    reduce_per_replica = trainer.reduce_per_replica

    def symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda value: self.distribute_strategy.experimental_local_results(value)[0]
                    if isinstance(value, tf.distribute.DistributedValues) else value,
                    next(batches))
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_logs(values, strategy, reduction):
        if trainer._collective_all_reduce_multi_worker(strategy) and reduction in ("auto",
                                                                                   "mean"):
            def mean(value):
                rank = strategy.experimental_local_results(value)[0].shape.rank
                return strategy.reduce("MEAN", value, axis=None if rank == 0 else 0)

            return tf.nest.map_structure(mean, values)
        return reduce_per_replica(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = symbolic_build
    trainer.reduce_per_replica = reduce_logs
    trainer._tfxdr_multi_worker_fix = True
    return True
