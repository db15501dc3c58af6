"""Pusher: a blessed model becomes the next version under the TF Serving base path.

The base path is ``OUTPUT/serving/<pipeline name>`` unless ``[pusher] base_path``
names another (TF Serving's ``--model_base_path``).  The version appears in one
rename, whole, with its warmup requests, under the base path's lock (the same
as ``tfxdr export``), so a server polling the base path never loads a partial
one.  ``assets.extra/pipeline.json`` records where the version came from: the
model's content hash and the lineage key of the run that made it.  An
unblessed model is never pushed, and a model already pushed (same content
hash as the newest version) is not pushed twice.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tfxdr.export.common import ASSETS_EXTRA, next_version
from tfxdr.io import atomic_directory
from tfxdr.rundir import run_lock
from tfxdr_pipelines.component import Component, Context
from tfxdr_pipelines.config import PipelineConfig, resolve_path

PROVENANCE_FILE = "pipeline.json"
PUSH_FILE = "push.json"


def base_path(config: PipelineConfig, output_root: Path) -> Path:
    """The TF Serving base path of the pipeline's model."""
    if config.pusher.base_path:
        return resolve_path(config, config.pusher.base_path)
    return Path(output_root) / "serving" / config.name


def provenance(version_dir: Path) -> dict:
    """What a pushed version records about its origin ({} for one pushed otherwise)."""
    path = Path(version_dir) / ASSETS_EXTRA / PROVENANCE_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def push(model_dir: Path, base: Path, record: dict) -> tuple[int, bool]:
    """Copies a SavedModel to ``base/<next version>``; returns the version and
    whether it is new (False: the newest version already holds this model)."""
    base.mkdir(parents=True, exist_ok=True)
    with run_lock(base):
        newest = next_version(base) - 1
        if newest and provenance(base / str(newest)).get("model_sha256") == record["model_sha256"]:
            return newest, False
        version = newest + 1
        with atomic_directory(base / str(version)) as scratch:
            shutil.copytree(model_dir, scratch, dirs_exist_ok=True)
            (Path(scratch) / ASSETS_EXTRA).mkdir(exist_ok=True)
            (Path(scratch) / ASSETS_EXTRA / PROVENANCE_FILE).write_text(
                json.dumps({**record, "version": version}, indent=2) + "\n")
    return version, True


def _run(context: Context) -> None:
    from tfxdr_pipelines.trainer import MODEL_VERSION

    blessing = context.upstream["blessing"]
    target = base_path(context.config, context.output_root)
    if not blessing.get("blessed"):
        outcome = {"pushed": False, "reason": f"not blessed: {blessing.get('reason')}"}
        context.log(f"Pusher: nothing pushed ({outcome['reason']})")
    else:
        model = context.upstream["model"]
        record = {"model_sha256": model["outputs"]["model"]["sha256"],
                  "trainer_key": model["key"], "evaluator_key": blessing["key"]}
        version, new = push(context.inputs["model"] / str(MODEL_VERSION), target, record)
        outcome = {"pushed": new, "version": version, "path": str(target / str(version))}
        context.log(f"Pusher: {'pushed' if new else 'already served as'} version {version} "
              f"to {target}")
    (context.outputs["pushed"] / PUSH_FILE).write_text(json.dumps(outcome, indent=2) + "\n")
    context.notes.update(outcome)


def _parameters(config: PipelineConfig) -> dict:
    return {"base_path": config.pusher.base_path, "name": config.name}


PUSHER = Component(
    name="Pusher",
    inputs={"model": "Trainer.model", "blessing": "Evaluator.blessing"},
    outputs=("pushed",), parameters=_parameters, run=_run)
