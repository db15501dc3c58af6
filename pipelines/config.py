"""The pipeline's config: one TOML file, one typed section per concern.

Every key is checked when the file is read: an unknown section or key (usually
a misspelt one) or a value of the wrong kind is one error naming the file,
the section and the key.  Relative paths are relative to the config file.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path

from tfxdr_pipelines.errors import PipelineError

SPLITS = ("train", "eval", "test")
STRATEGIES = ("one_device", "multi_worker")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the interactions come from.

    Args:
        dataset: a named dataset (``ml-100k``, ``ml-1m``), fetched on first use;
            its genres are the domains.
        path: an interactions file or glob (CSV with a header, or Parquet) with
            columns ``user_id,item_id,domain[,timestamp][,rating][,label]``.
            Exactly one of ``dataset`` and ``path``.
        domains: the genres of a named dataset that are domains (a movie in
            several of them follows ``overlap``).
        min_rating: keep only interactions rated at least this (named datasets).
        overlap: ``drop``, ``first``, ``last`` or ``second``: see ``tfxdr data``.
    """

    dataset: str = ""
    path: str = ""
    domains: tuple[str, ...] = ()
    min_rating: float | None = None
    overlap: str = "drop"


@dataclasses.dataclass(frozen=True)
class SplitConfig:
    """The deterministic hash split: ``key``'s value, salted with ``seed``, picks a
    row's split, so every row of a user lands in the same split (by default) and
    the same data always splits the same way.  Percentages sum to 100."""

    key: str = "user_id"
    train: int = 70
    eval: int = 5
    test: int = 25
    seed: int = 0
    shards: int = 1  # TFRecord files per split; 0 lets the runner choose


@dataclasses.dataclass(frozen=True)
class ValidationConfig:
    """What the schema checks beyond columns and types.

    Args:
        schema: the curated schema file (text ``Schema`` proto).  When it does
            not exist, the schema is inferred from the train split once and
            written there; later runs are checked against it.  Default
            ``OUTPUT/schema.pbtxt``.
        id_columns: columns whose held-out values are ids to compare with train's.
        max_new_id_fraction: the largest share of an eval or test split's rows
            whose id in an ``id_columns`` column train never saw.
        range_columns: numeric columns whose train range becomes the schema's domain.
        max_categories: a string column (other than the ids) with at most this many
            values gets them as its domain, so an unseen value is an anomaly.
    """

    schema: str = ""
    id_columns: tuple[str, ...] = ("item_id",)
    max_new_id_fraction: float = 0.2
    range_columns: tuple[str, ...] = ("rating",)
    max_categories: int = 100


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    """The model the pipeline trains, as ``tfxdr train`` would.

    Args:
        model: a registered model of a task the pipeline serves (``tfxdr models``).
        seed: the training seed.
        epochs: 0 keeps the model config's epochs.
        set: config overrides, ``KEY=VALUE`` as ``tfxdr train --set`` takes them.
        strategy: ``one_device`` (this process) or ``multi_worker``: every worker of
            the cluster in ``TF_CONFIG`` runs the Trainer step, the chief writes
            its outputs (see :mod:`tfxdr_pipelines.trainer`).
    """

    model: str = "multivae"
    seed: int = 0
    epochs: int = 0
    set: tuple[str, ...] = ()
    strategy: str = "one_device"


@dataclasses.dataclass(frozen=True)
class EvaluatorConfig:
    """When a candidate is blessed: its ``metric`` (``recall@K``, K at most the
    export's top k) on the test split, averaged over domain pairs, is at least
    the currently pushed model's (popularity's, before the first push) minus
    ``margin``."""

    metric: str = "recall@20"
    margin: float = 0.0


@dataclasses.dataclass(frozen=True)
class PusherConfig:
    """``base_path``: the TF Serving base path (default ``OUTPUT/serving/<name>``)."""

    base_path: str = ""


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """A whole pipeline: its model's name and each component's section."""

    name: str
    data: DataConfig
    split: SplitConfig = SplitConfig()
    validation: ValidationConfig = ValidationConfig()
    trainer: TrainerConfig = TrainerConfig()
    evaluator: EvaluatorConfig = EvaluatorConfig()
    pusher: PusherConfig = PusherConfig()
    source: str = ""  # the file it was read from

    def to_dict(self) -> dict:
        return {section.name: dataclasses.asdict(getattr(self, section.name))
                for section in dataclasses.fields(self)
                if dataclasses.is_dataclass(getattr(self, section.name))}


_SECTIONS = {"data": DataConfig, "split": SplitConfig, "validation": ValidationConfig,
             "trainer": TrainerConfig, "evaluator": EvaluatorConfig, "pusher": PusherConfig}


def load_config(path: str | Path) -> PipelineConfig:
    """Reads and checks a pipeline config file.

    Raises:
        PipelineError: a missing or malformed file, an unknown section or key, a
            value of the wrong kind, or settings that contradict each other.
    """
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: no such config file")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise PipelineError(f"{path}: not valid TOML ({error})") from None
    unknown = sorted(set(raw) - {"pipeline", *_SECTIONS})
    if unknown:
        raise PipelineError(f"{path}: unknown section [{unknown[0]}]; expected "
                            f"{', '.join(f'[{s}]' for s in ('pipeline', *_SECTIONS))}")
    head = raw.get("pipeline", {})
    name = head.get("name")
    if not isinstance(name, str) or not name or set(head) - {"name"}:
        raise PipelineError(f"{path}: [pipeline] needs exactly one key, name, a non-empty "
                            "string (the served model's name)")
    sections = {key: _section(path, key, cls, raw.get(key, {}))
                for key, cls in _SECTIONS.items()}
    config = PipelineConfig(name=name, source=str(path.resolve()), **sections)
    _check(path, config)
    return config


def _section(path: Path, name: str, cls, values: dict):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kept = {}
    for key, value in values.items():
        if key not in fields:
            raise PipelineError(f"{path}: [{name}] {key}: unknown key; expected one of "
                                f"{', '.join(fields)}")
        kept[key] = _typed(path, f"[{name}] {key}", hints[key], value)
    return cls(**kept)


def _typed(path: Path, where: str, hint, value):
    """``value`` as the field's type, or an error naming the key and the kind expected."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    options = typing.get_args(hint) if union else (hint,)
    for option in options:
        if typing.get_origin(option) is tuple:
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return tuple(value)
        elif option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        elif option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        elif option is str and isinstance(value, str):
            return value
    kinds = {tuple: "a list of strings", float: "a number", int: "an integer", str: "a string"}
    expected = " or ".join(kinds[typing.get_origin(o) or o] for o in options if o is not type(None))
    raise PipelineError(f"{path}: {where} = {value!r}: expected {expected}")


def _check(path: Path, config: PipelineConfig) -> None:
    data, split, validation = config.data, config.split, config.validation
    if bool(data.dataset) == bool(data.path):
        raise PipelineError(f"{path}: [data] needs exactly one of dataset and path")
    if data.path and data.domains:
        raise PipelineError(f"{path}: [data] domains: only for a named dataset (an "
                            "interactions file's domain column names each row's domain)")
    if data.dataset and len(data.domains) < 2:
        raise PipelineError(f"{path}: [data] domains: a named dataset needs at least two "
                            "genres as domains")
    shares = [getattr(split, name) for name in SPLITS]
    if any(share < 0 for share in shares) or sum(shares) != 100 or not split.train:
        raise PipelineError(f"{path}: [split] train, eval and test are percentages: at least "
                            f"0, train above 0, summing to 100 (they sum to {sum(shares)})")
    if split.shards < 0:
        raise PipelineError(f"{path}: [split] shards = {split.shards}: expected 0 or more")
    name, _, k = config.evaluator.metric.partition("@")
    if name != "recall" or not k.isdigit() or int(k) < 1:
        raise PipelineError(f"{path}: [evaluator] metric = {config.evaluator.metric!r}: "
                            "expected recall@K with K >= 1")
    if config.trainer.epochs < 0:
        raise PipelineError(f"{path}: [trainer] epochs = {config.trainer.epochs}: expected 0 "
                            "(the model's default) or more")
    if config.trainer.strategy not in STRATEGIES:
        raise PipelineError(f"{path}: [trainer] strategy = {config.trainer.strategy!r}: "
                            f"expected one of {', '.join(STRATEGIES)}")
    if not 0 <= validation.max_new_id_fraction <= 1:
        raise PipelineError(f"{path}: [validation] max_new_id_fraction = "
                            f"{validation.max_new_id_fraction}: expected a share in [0, 1]")


def resolve_path(config: PipelineConfig, value: str) -> Path:
    """A path from the config, relative to the config file's directory."""
    location = Path(value).expanduser()
    return location if location.is_absolute() else Path(config.source).parent / location
