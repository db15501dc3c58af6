"""Copies of a finished run in the states the run-directory tests need."""

import shutil


def stopped_copy(run, staged):
    """The finished ``run`` copied to ``staged`` as if it had been stopped after its last
    epoch: no model.keras or metrics.json, status interrupted, its resume file kept."""
    shutil.copytree(run, staged)
    for done in ("metrics.json", "model.keras"):
        (staged / done).unlink()
    (staged / "status.json").write_text('{"status": "interrupted"}')
    return staged
