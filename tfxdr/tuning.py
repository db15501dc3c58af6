"""Hyperparameter search on the validation split: an Optuna study in a directory.

```
DIR/study.db            the study (SQLite): every trial's parameters, scores and state
DIR/trials/trial-NNN/   each trial's run directory, as `tfxdr train` writes it
DIR/trials.csv          a row per trial: number, state, value, best epoch, parameters
DIR/best_config.json    the best trial's config fields (`tfxdr train --config` reads it)
```

A trial is a run of :func:`tfxdr.experiment.train` with the study's seed (so
every trial has the same split), its fixed overrides and the values a TPE
sampler draws from the config's ``search_space``; it never scores the test
split, so nothing a study chooses has seen it.  Each validation's score goes
to a median pruner, which stops a trial whose best score so far is below the
median of the completed trials' at the same epoch.  The sampler is seeded from the study's
seed and the trial's number, so a study stopped between trials and run again
draws the trials an uninterrupted one would.

One process works on a study at a time (a lock beside DIR).  A trial that a
killed process left running runs again with its parameters in its own run
directory, which resumes from its last checkpoint.  This module imports no
TensorFlow until the first trial trains.
"""

from __future__ import annotations

import csv
import json
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import optuna
from optuna.trial import TrialState

from tfxdr import rundir
from tfxdr.config import Choice, LogUniform, SearchSpec, Uniform
from tfxdr.errors import ConfigError, RunDirError, TrainingError
from tfxdr.io import atomic_file, read_json, write_json
from tfxdr.registry import MODELS, resolve_config

if TYPE_CHECKING:
    from tfxdr.experiment import DataConfig

STUDY_FILE = "study.db"
STUDY_NAME = "tfxdr"
TRIALS_DIR = "trials"
TRIALS_FILE = "trials.csv"
BEST_CONFIG_FILE = "best_config.json"
#: The pruner judges no trial before this many have completed, nor before this epoch
#: (epochs count from 1): the first epochs' scores say little about the last ones'.
PRUNE_AFTER_TRIALS = 5
PRUNE_FROM_EPOCH = 4
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
COLUMNS = ("number", "state", "value", "best_epoch", "params", "run_dir", "note")


def search_space(model: str, overrides: Sequence[str] = (),
                 epochs: int | None = None) -> dict[str, SearchSpec]:
    """The model's search space less the fields ``overrides`` fix by hand.

    Raises:
        ConfigError: an unknown model or override, or nothing left to search.
    """
    declared = MODELS.get(model).config_cls.search_space
    if not declared:
        raise ConfigError(f"model {model!r} has nothing to tune: its config declares no "
                          "search space")
    fixed = {item.partition("=")[0].strip() for item in overrides}
    free = {name: space for name, space in declared.items() if name not in fixed}
    if not free:
        raise ConfigError(f"model {model!r} has nothing left to tune: the overrides fix every "
                          f"field of its search space ({', '.join(declared)})")
    resolve_config(model, overrides, epochs, example_values(model, free))
    return free


def example_values(model: str, space: dict[str, SearchSpec]) -> dict:
    """Config values of the shape every trial has (a grid field holds one value):
    the settings a study checks and records stand for all of its trials."""
    return field_values(model, {name: spec.values[0] if isinstance(spec, Choice) else spec.low
                                for name, spec in space.items()})


def check_study_dir(out: str | Path) -> Path:
    """Checks that ``out`` can hold a study (absent, empty, or a study's) that no live
    process is working on; returns it absolute.

    Raises:
        RunDirError: a file, under a file or an unwritable directory, a directory of
            something else, or locked.
    """
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise RunDirError(f"{out}: is a file, not a study directory")
    rundir.check_parent(out)
    if out.is_dir() and any(out.iterdir()) and not (out / STUDY_FILE).is_file():
        raise RunDirError(f"{out}: exists and holds no tfxdr study ({STUDY_FILE}); refusing "
                          "to use it")
    rundir.check_unlocked(out)
    return out


def suggest(trial: optuna.Trial, name: str, space: SearchSpec) -> Any:
    """The trial's value of field ``name``, drawn from ``space``."""
    if isinstance(space, LogUniform):
        return trial.suggest_float(name, space.low, space.high, log=True)
    if isinstance(space, Uniform):
        return trial.suggest_float(name, space.low, space.high)
    if isinstance(space, Choice):
        return trial.suggest_categorical(name, list(space.values))
    raise TypeError(f"{name}: {space!r} is not a search space")


def field_values(model: str, sampled: dict) -> dict:
    """The config's JSON field values of sampled ones: a number drawn for a tuple field
    (a closed-form model's grid) is a grid of that one value."""
    hints = typing.get_type_hints(MODELS.get(model).config_cls)
    return {name: [value] if typing.get_origin(hints[name]) is tuple else value
            for name, value in sampled.items()}


def trial_seed(seed: int, number: int) -> int:
    """The sampler's seed for trial ``number``: a function of the study's seed and the
    number only, so a resumed study draws what an uninterrupted one would."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def tune(model: str, data: "DataConfig", out: str | Path, trials: int, seed: int = 0,
         overrides: Sequence[str] = (), epochs: int | None = None,
         quiet: bool = False) -> dict:
    """Runs the study in ``out`` until ``trials`` trials have finished (completed,
    pruned or failed), then writes trials.csv and best_config.json.

    A study already in ``out`` continues if its settings (model, data, seed,
    overrides, epochs) are these; finished trials are kept and count.

    Returns:
        ``{"trials": [trials.csv rows], "best": the best row or None,
        "best_config": its config fields or None}``.

    Raises:
        ConfigError / RunDirError / DataError: bad input, a study of other
            settings in ``out``, or ``out`` in use.
        TrainingInterrupted: a signal stopped a trial; the same call resumes it.
    """
    from tfxdr.experiment import difference, plan_run

    space = search_space(model, overrides, epochs)
    out = check_study_dir(out)
    record = json.loads(json.dumps(plan_run(model, data, seed, overrides, epochs,
                                            config_values=example_values(model, space)).record))
    # A field fixed by --set at its default leaves the same config but another search;
    # another Optuna may draw other trials from the same seeds.
    record["searched"] = sorted(space)
    record["optuna"] = optuna.__version__
    with rundir.run_lock(out):
        out.mkdir(parents=True, exist_ok=True)
        study = optuna.create_study(
            storage=f"sqlite:///{out / STUDY_FILE}", study_name=STUDY_NAME,
            direction="maximize", load_if_exists=True,
            pruner=optuna.pruners.MedianPruner(PRUNE_AFTER_TRIALS, PRUNE_FROM_EPOCH))
        saved = study.user_attrs.get("settings")
        if saved is None:
            study.set_user_attr("settings", record)
        elif found := difference(saved, record):
            raise RunDirError(f"{out}: holds a study of other settings ({found}); choose "
                              "another directory")
        _rerun_interrupted(study, quiet)
        done = _finished(study.get_trials(deepcopy=False))
        if done >= trials and not quiet:
            print(f"the study has {done} finished trials already: nothing to run", flush=True)
        while done < trials:
            number = len(study.get_trials(deepcopy=False))
            study.sampler = optuna.samplers.TPESampler(seed=trial_seed(seed, number))
            trial = study.ask()  # an interrupted trial's parameters first, if any
            values = field_values(model, {name: suggest(trial, name, s)
                                          for name, s in space.items()})
            run_dir = trial.user_attrs.get("run_dir", f"{TRIALS_DIR}/trial-{trial.number:03d}")
            trial.set_user_attr("run_dir", run_dir)
            outcome = _run_trial(trial, values, model, data, out / run_dir, seed, overrides,
                                 epochs)
            frozen = study.tell(trial, **outcome)
            done += 1
            if not quiet:
                print(_progress(frozen, done, trials, study), flush=True)
        return write_summary(study, out)


def _run_trial(trial: optuna.Trial, values: dict, model: str, data: "DataConfig",
               run_dir: Path, seed: int, overrides: Sequence[str],
               epochs: int | None) -> dict:
    """Trains the trial's run (or reads it back, if it finished before the study
    recorded it); returns what ``study.tell`` records."""
    from tfxdr.experiment import train
    from tfxdr.training import ReportValidation

    def report(epoch: int, score: float) -> bool:
        trial.report(score, epoch)
        if not trial.should_prune():
            return False
        trial.set_user_attr("pruned_at", epoch)  # before the run ends: a re-run knows
        return True

    reporter = ReportValidation(report)
    if rundir.is_complete(run_dir):
        result = read_json(run_dir / rundir.METRICS_FILE)
    else:
        try:
            result = train(model, data, run_dir, seed=seed, overrides=overrides, epochs=epochs,
                           verbose=0, config_values=values, score_test=False,
                           validation_callbacks=[reporter])
        except TrainingError as error:
            trial.set_user_attr("error", str(error))
            return {"state": TrialState.FAIL}
    for epoch, score in _validation_scores(run_dir):  # epochs trained before a resume
        if epoch not in reporter.reported:
            trial.report(score, epoch)
    trial.set_user_attr("best_epoch", result["validation"]["best_epoch"])
    if "pruned_at" in trial.user_attrs:
        return {"state": TrialState.PRUNED}
    return {"values": result["validation"]["selection_score"]}


def _validation_scores(run_dir: Path) -> list[tuple[int, float]]:
    """``(epoch, selection score)`` of each validated epoch in the run's history.csv."""
    with open(run_dir / "history.csv", newline="") as handle:
        return [(int(row["epoch"]), float(row["val_selection"]))
                for row in csv.DictReader(handle) if row.get("val_selection")]


def _rerun_interrupted(study: optuna.Study, quiet: bool) -> None:
    """Queues every trial a killed process left running to run again with its
    parameters, its run directory and its pruning, if the pruner had stopped it;
    marks it failed (it no longer counts)."""
    trials = study.get_trials(deepcopy=False)
    queued = {t.user_attrs.get("replaces") for t in trials}
    for stale in trials:
        if stale.state != TrialState.RUNNING:
            continue
        if stale.number not in queued:
            kept = {k: v for k, v in stale.user_attrs.items() if k in ("run_dir", "pruned_at")}
            study.enqueue_trial(stale.params, user_attrs={"replaces": stale.number, **kept})
        study.tell(stale.number, state=TrialState.FAIL)
        if not quiet:
            print(f"trial {stale.number} was interrupted: it runs again with its parameters, "
                  "resuming its run directory", flush=True)


def _finished(trials: Sequence[optuna.trial.FrozenTrial]) -> int:
    """Finished trials, less the interrupted ones that run again."""
    replaced = {t.user_attrs.get("replaces") for t in trials}
    return sum(t.state in FINISHED and t.number not in replaced for t in trials)


def _best(trials: Sequence[optuna.trial.FrozenTrial]) -> optuna.trial.FrozenTrial | None:
    """The completed trial of the highest score (the first of ties)."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    return max(complete, key=lambda t: t.value, default=None)


def _format_params(params: dict) -> str:
    return " ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                    for name, value in params.items())


def _progress(trial: optuna.trial.FrozenTrial, done: int, total: int,
              study: optuna.Study) -> str:
    """One line on a finished trial, and the best so far."""
    head = f"trial {trial.number} ({done} of {total}): "
    if trial.state == TrialState.FAIL:
        what = f"failed: {trial.user_attrs.get('error', 'no reason recorded')}"
    elif trial.state == TrialState.PRUNED:
        what = (f"pruned at epoch {trial.last_step}, validation "
                f"{trial.intermediate_values[trial.last_step]:.4f}")
    else:
        what = f"validation {trial.value:.4f} at epoch {trial.user_attrs['best_epoch']}"
    best = _best(study.get_trials(deepcopy=False))
    best_text = f"best {best.value:.4f} (trial {best.number})" if best else "none complete yet"
    return f"{head}{what}; {best_text}; {_format_params(trial.params)}"


def write_summary(study: optuna.Study, out: Path) -> dict:
    """Writes ``trials.csv`` and the best trial's ``best_config.json``; returns both."""
    trials = study.get_trials(deepcopy=False)
    reruns = {t.user_attrs["replaces"]: t.number for t in trials if "replaces" in t.user_attrs}
    rows = []
    for t in trials:
        note = t.user_attrs.get("error", "")
        if t.number in reruns:
            note = f"interrupted; run again as trial {reruns[t.number]}"
        rows.append(dict(zip(COLUMNS, (
            t.number, t.state.name, "" if t.value is None else t.value,
            t.user_attrs.get("best_epoch", ""), json.dumps(t.params),
            t.user_attrs.get("run_dir", ""), note))))
    with atomic_file(out / TRIALS_FILE) as scratch, open(scratch, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    best = _best(trials)
    if best is None:
        return {"trials": rows, "best": None, "best_config": None}
    config = read_json(out / best.user_attrs["run_dir"] / rundir.CONFIG_FILE)["config"]
    write_json(out / BEST_CONFIG_FILE, config)
    return {"trials": rows, "best": rows[best.number], "best_config": config}


def settings_note(config, config_file: str | Path | None = None,
                  overrides: Sequence[str] = ()) -> str:
    """How a row's settings were chosen, for a results table, from its resolved
    ``config``: a study's best config file ("tuned, N trials", N the study's finished
    trials), another config file, or the defaults (a closed-form model's grid of more
    than one value chosen on validation), then any ``KEY=VALUE`` overrides."""
    if config_file is not None:
        trials_file = Path(config_file).parent / TRIALS_FILE
        if trials_file.is_file():
            with open(trials_file, newline="") as handle:
                trials = sum(1 for row in csv.DictReader(handle)
                             if not row["note"].startswith("interrupted"))
            note = f"tuned, {trials} trials"
        else:
            note = f"config {config_file}"
    elif not config.search_space:
        note = "nothing to tune"
    elif hasattr(config, "grid") and len(config.grid()) > 1:
        note = f"grid of {len(config.grid())} {config.grid_field} on validation"
    else:
        note = "defaults"
    return "; ".join([note, *overrides])
