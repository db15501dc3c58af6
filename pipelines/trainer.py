"""Trainer: a tfxdr model trained on the transformed examples, then exported.

The transformed rows become tfxdr's interactions as they are: an item is its
transform index (``item_index``), each user keeps the split ExampleGen hashed
it into (``eval`` is tfxdr's ``val``), so tfxdr's task, training loop and
validation selection run unchanged on what the transform graph produced.  A
held-out item train never saw (index 1) keeps its raw id, marked, so that two
of them stay two items the model does not know, as they would in tfxdr.  The
run is tfxdr's own run directory, trained in a staging directory kept under
``OUTPUT/Trainer/.runs/<key>`` until it finishes, so a killed Trainer resumes
from its last checkpoint when the pipeline runs again with the same inputs.

The export puts the transform graph in front of the model (see
:mod:`tfxdr_pipelines.serving_module`): a request carries raw item ids and gets
raw item ids back.  Outputs: ``model_run/`` (the tfxdr run) and ``model/1/``
(the SavedModel, with its warmup requests).

With ``[trainer] strategy = "multi_worker"`` every worker of the cluster in
``TF_CONFIG`` runs the Trainer step on the same output root (shared storage)
and trains its share of each batch; the chief trains in the staging directory
above, exports and writes the outputs and lineage (with the weights' sha256
and the number of replicas), each other worker trains under
``OUTPUT/Trainer/.workers/<key>/<index>``, logs the sha256 of its weights (the
chief's) and removes it.  A restarted worker resumes from the chief's last
checkpoint, so a cluster killed between two workers' checkpoints resumes from
one epoch everywhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from tfxdr.features import NUM_RESERVED

from tfxdr_pipelines.component import Component, Context
from tfxdr_pipelines.config import SPLITS, PipelineConfig
from tfxdr_pipelines.errors import PipelineError
from tfxdr_pipelines.example_gen import EXAMPLE_FILES, split_dir
from tfxdr_pipelines.transform import DOMAIN, ITEM, ITEM_INDEX, USER

TFXDR_SPLIT = {"train": "train", "eval": "val", "test": "test"}
MODEL_VERSION = 1
PIPELINE_TASKS = ("clicks",)
UNSEEN_PREFIX = "unseen:"


def read_examples(directory: Path, split: str, columns: dict) -> pd.DataFrame:
    """One split of a TFRecord examples directory as a frame of ``columns``
    (name -> ``"bytes"`` or ``"int"``)."""
    import tensorflow as tf

    pattern = str(split_dir(directory, split) / EXAMPLE_FILES)
    files = tf.io.gfile.glob(pattern)
    spec = {name: tf.io.FixedLenFeature([], tf.string if kind == "bytes" else tf.int64)
            for name, kind in columns.items()}
    values = {name: [] for name in columns}
    if files:
        records = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(65536)
        for batch in records.map(lambda rows: tf.io.parse_example(rows, spec)):
            for name in columns:
                values[name].append(batch[name].numpy())
    frame = pd.DataFrame({name: np.concatenate(parts) if parts else np.array([])
                          for name, parts in values.items()})
    for name, kind in columns.items():
        if kind == "bytes":
            frame[name] = frame[name].map(lambda v: v.decode("utf-8")).astype(object)
    return frame


def transformed_interactions(directory: Path, domains: tuple[str, ...]):
    """The transformed examples as tfxdr interactions with a ``split`` column."""
    from tfxdr.data import Interactions

    frames = []
    for split in SPLITS:
        frame = read_examples(directory, split, {USER: "bytes", DOMAIN: "bytes", ITEM: "bytes",
                                                 ITEM_INDEX: "int"})
        frame["split"] = TFXDR_SPLIT[split]
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    known = frame[ITEM_INDEX] >= NUM_RESERVED
    items = frame[ITEM_INDEX].astype(str).where(known, UNSEEN_PREFIX + frame[ITEM].astype(str))
    frame = pd.DataFrame({"user_id": frame[USER], "item_id": items, "domain": frame[DOMAIN],
                          "split": frame["split"]})
    frame = frame.sort_values(["user_id", "domain", "item_id"], kind="stable")
    return Interactions(frame=frame.reset_index(drop=True), domains=domains, users=None,
                        items=None, dataset=str(directory), source=str(directory))


def check_model(config: PipelineConfig) -> None:
    """The trainer's model must be one the pipeline can serve.

    Raises:
        PipelineError: an unknown model, or one of another task.
    """
    from tfxdr.errors import ConfigError
    from tfxdr.registry import MODELS

    name = config.trainer.model
    try:
        spec = MODELS.get(name)
    except ConfigError:
        raise PipelineError(f"{config.source}: [trainer] model = {name!r}: unknown model; "
                            f"expected one of {', '.join(_pipeline_models())}") from None
    if spec.task not in PIPELINE_TASKS:
        raise PipelineError(f"{config.source}: [trainer] model = {name!r} is a {spec.task} "
                            f"model; the pipeline trains {', '.join(PIPELINE_TASKS)} models: "
                            f"{', '.join(_pipeline_models())}")


def _pipeline_models() -> list[str]:
    from tfxdr.registry import MODELS

    return sorted(name for name in MODELS.names() if MODELS.get(name).task in PIPELINE_TASKS)


def _parameters(config: PipelineConfig) -> dict:
    check_model(config)
    return {"trainer": {key: list(value) if isinstance(value, tuple) else value
                        for key, value in dataclasses.asdict(config.trainer).items()}}


def _run(context: Context) -> None:
    from tfxdr import experiment
    from tfxdr.distribute import LATE_STRATEGY, is_chief, multi_worker_strategy, \
        task_of_cluster
    from tfxdr.errors import ConfigError
    from tfxdr.rundir import is_complete
    from tfxdr.export.common import save_module
    from tfxdr_pipelines.serving_module import transformed_serving
    from tfxdr_pipelines.transform import read_graph

    trainer = context.config.trainer
    # The strategy first: collectives are configured before TensorFlow runs anything.
    strategy = None
    if trainer.strategy == "multi_worker":
        try:
            strategy = multi_worker_strategy()
        except ConfigError as error:
            if str(error) != LATE_STRATEGY:
                raise
            raise PipelineError(
                "Trainer: multi_worker training runs in a process of its own, after the "
                "components before it: run `tfxdr-pipeline run CONFIG --output DIR --until "
                "Transform`, then `tfxdr-pipeline step Trainer CONFIG --output DIR` on every "
                "worker") from None
    domains = tuple(context.upstream["transform_graph"]["domains"])
    context.notes["domains"] = list(domains)
    interactions = transformed_interactions(context.inputs["transformed_examples"], domains)
    staging = context.output_root / "Trainer" / ".runs" / context.key
    worker = None
    if strategy is not None and not is_chief():
        worker = staging.parent.parent / ".workers" / context.key / str(task_of_cluster()[1])
        _resume_from_chief(staging, worker)
        staging = worker
    data = experiment.DataConfig(dataset=str(context.inputs["transformed_examples"]),
                                 domains=domains)
    if not is_complete(staging):  # else it finished before the Trainer was stopped
        examples = context.upstream["transformed_examples"]["outputs"]["transformed_examples"]
        experiment.train(trainer.model, data, staging, seed=trainer.seed,
                         overrides=list(trainer.set), epochs=trainer.epochs or None,
                         verbose=2, interactions=interactions,
                         sources_record={"transformed_examples": examples["sha256"]},
                         strategy=strategy)
    digest = weights_digest(experiment.load_run(staging).model)
    if worker is not None:  # its share is done; the chief writes the outputs
        context.log(f"Trainer: worker {task_of_cluster()[1]} done; weights sha256 {digest}")
        shutil.rmtree(worker.parent, ignore_errors=True)
        with contextlib.suppress(OSError):  # another worker may still be in there
            worker.parent.parent.rmdir()
        return
    context.notes["weights_sha256"] = digest
    context.notes["replicas"] = strategy.num_replicas_in_sync if strategy is not None else 1
    run_dir = context.outputs["model_run"]
    shutil.rmtree(run_dir)
    shutil.move(str(staging), str(run_dir))
    shutil.rmtree(staging.parent, ignore_errors=True)
    run = experiment.load_run(run_dir)
    module, signatures, warmup = transformed_serving(
        run, read_graph(context.inputs["transform_graph"]),
        context.inputs["examples"])
    save_module(module, signatures, context.outputs["model"], MODEL_VERSION, warmup=warmup)


def weights_digest(model) -> str:
    """sha256 over the model's weights, in order: equal on every worker of a cluster."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


def _resume_from_chief(chief: Path, worker: Path) -> None:
    """A worker continues from the chief's last checkpoint, so that a restarted
    cluster resumes from one epoch on every worker (a kill can land between two
    workers' checkpoints).  Before the first checkpoint: a fresh start."""
    from tfxdr.rundir import has_checkpoint, staged_path

    ours = staged_path(worker)
    shutil.rmtree(ours, ignore_errors=True)
    if has_checkpoint(staged_path(chief)):
        ours.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged_path(chief), ours)


def _publishes(config: PipelineConfig) -> bool:
    from tfxdr.distribute import is_chief

    return config.trainer.strategy != "multi_worker" or is_chief()


TRAINER = Component(
    name="Trainer",
    inputs={"transformed_examples": "Transform.transformed_examples",
            "transform_graph": "Transform.transform_graph", "examples": "ExampleGen.examples"},
    outputs=("model_run", "model"),
    parameters=_parameters, run=_run, publishes=_publishes)
