"""Run directories: complete or absent (see :mod:`tfxdr.io`), and what they hold.

```
RUN_DIR/config.json        model, resolved config, seed, data source, split spec
RUN_DIR/features.json      the feature spec (vocabularies, buckets, entity tables)
RUN_DIR/split/             interactions.parquet (with a split column), spec.json
RUN_DIR/history.csv        per-epoch losses and validation metrics
RUN_DIR/steps.csv          every training step's loss terms
RUN_DIR/checkpoints/       best.weights.h5 (selected on validation), last.weights.h5
RUN_DIR/model.keras        the selected model, preprocessing layer included
RUN_DIR/metrics.json       test metrics, timing
```
"""

from __future__ import annotations

from tfxdr.io import atomic_directory as staged_run_dir
from tfxdr.io import read_json, write_json

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"

__all__ = ["CONFIG_FILE", "METRICS_FILE", "MODEL_FILE", "read_json", "staged_run_dir",
           "write_json"]
