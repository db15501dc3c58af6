"""Typed configuration dataclasses and ``key=value`` overrides.

Every model has a config dataclass whose defaults are its paper's values.
Configs derive from :class:`Config`, whose ``validate`` checks every
``Literal`` field, so a value outside its choices is refused wherever the
config comes from (a constructor, ``--set``, a saved run).  They serialise to
JSON with the run (:func:`to_dict`) and are rebuilt from it (:func:`from_dict`);
:func:`apply_overrides` parses ``key=value`` strings against the field types, and
:func:`apply_values` checks JSON values (a config file's, a tuner's) against them.
Every error is a :class:`ConfigError` naming the field (``error.field``).

Each config also declares the fields worth searching and their ranges
(``search_space``, of :class:`Uniform`, :class:`LogUniform` and :class:`Choice`),
next to the defaults they vary; ``tfxdr tune`` samples them on validation.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Iterable, Literal, Mapping, TypeVar

from tfxdr.errors import ConfigError

C = TypeVar("C")
UNIONS = (typing.Union, types.UnionType)  # Optional[X] and X | None


@dataclasses.dataclass(frozen=True)
class Uniform:
    """A number drawn uniformly from ``[low, high]`` (a share, a dropout rate)."""

    low: float
    high: float

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError(f"Uniform({self.low}, {self.high}): low must be below high")


@dataclasses.dataclass(frozen=True)
class LogUniform:
    """A positive number whose logarithm is uniform on ``[log low, log high]``: a
    step size or a weight whose scale, not its digits, is unknown."""

    low: float
    high: float

    def __post_init__(self):
        if not 0 < self.low < self.high:
            raise ValueError(f"LogUniform({self.low}, {self.high}): expected 0 < low < high")


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of a few values (numbers, strings or booleans), none nearer than another."""

    values: tuple

    def __post_init__(self):
        if len(self.values) < 2 or not all(isinstance(v, (bool, int, float, str))
                                           for v in self.values):
            raise ValueError(f"Choice{self.values}: expected two or more plain values")


SearchSpec = Uniform | LogUniform | Choice

#: The step size's range wherever a paper names one value and never its search.
LEARNING_RATE = LogUniform(1e-4, 1e-2)


@dataclasses.dataclass
class Config:
    """Root of every config: ``validate`` checks the ``Literal`` fields and refuses
    non-finite numbers (no weight, rate or size of any model means anything at
    infinity or NaN, and range checks alone let ``inf`` through).

    Subclasses and mixins add range checks in their own ``validate`` and call
    ``super().validate()``, so every check of every base runs once.
    """

    def validate(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            choices = literal_choices(hints[field.name])
            if choices is not None and value not in choices:
                require(self, field.name, False, "one of " + ", ".join(map(str, choices)))
            if isinstance(value, float) and not math.isfinite(value):
                require(self, field.name, False, "a finite number")


def literal_choices(hint: Any) -> tuple | None:
    """The allowed values of a ``Literal`` (or ``Literal | None``) type, else None."""
    if typing.get_origin(hint) is Literal:
        return typing.get_args(hint)
    if typing.get_origin(hint) in UNIONS:
        for arg in typing.get_args(hint):
            if typing.get_origin(arg) is Literal:
                return typing.get_args(arg) + ((None,) if type(None) in typing.get_args(hint)
                                               else ())
    return None


@dataclasses.dataclass
class TrainConfig(Config):
    """Fields every trainable model shares: the optimisation loop and selection.

    Args:
        epochs: maximum number of passes over the training examples.
        batch_size: examples per gradient step.
        learning_rate: Adam step size.
        eval_every: run the validation pass every this many epochs.
        patience: stop after this many validations without improvement
            (0 disables early stopping).
        top_k: items the exported serving signatures return.
    """

    epochs: int = 100
    batch_size: int = 500
    learning_rate: float = 1e-3
    eval_every: int = 1
    patience: int = 20
    top_k: int = 50
    #: Field -> range that ``tfxdr tune`` samples; each model declares its own (none
    #: here: the schedule and the selection are not what a search should move).
    search_space: ClassVar[dict[str, SearchSpec]] = {}

    def validate(self) -> None:
        super().validate()
        require(self, "epochs", self.epochs >= 1, "an integer >= 1")
        require(self, "batch_size", self.batch_size >= 1, "an integer >= 1")
        require(self, "learning_rate", 0 < self.learning_rate < math.inf, "a finite number > 0")
        require(self, "eval_every", self.eval_every >= 1, "an integer >= 1")
        require(self, "patience", self.patience >= 0, "an integer >= 0")
        require(self, "top_k", self.top_k >= 1, "an integer >= 1")


BAGS_FROM_ITEMS = 10_000


@dataclasses.dataclass
class ClickInputsConfig(Config):
    """How a click-vector model reads a user's clicks.

    Args:
        click_inputs: ``bags`` reads them as bags (the first layer sums the kernel
            rows of the clicked items, a likelihood reads the outputs at them: a
            cost that follows the clicks, not the catalogue); ``dense`` builds the
            click vectors and multiplies them (the same function; an input dropout
            draws its mask differently); ``auto`` takes bags from
            ``BAGS_FROM_ITEMS`` items over every domain, below which the dense
            product is faster on CPU (``benchmarks/click_step.py``; see
            docs/results/performance.md).
    """

    click_inputs: Literal["auto", "bags", "dense"] = "auto"

    def reads_bags(self, num_items: int) -> bool:
        """Whether a model of ``num_items`` items over every domain reads bags."""
        if self.click_inputs == "auto":
            return num_items >= BAGS_FROM_ITEMS
        return self.click_inputs == "bags"


@dataclasses.dataclass
class AdamUpdateConfig(Config):
    """How Adam updates a model whose weights grow with the catalogue.

    Args:
        adam_update: ``fused`` updates each variable in TensorFlow's one fused
            kernel (:class:`tfxdr.optimizers.FusedAdam`): about three times as fast
            on a 70,000 x 600 kernel, and Adam itself on an embedding bag's sparse
            gradient, where Keras's Adam squares each repeated row's parts one by
            one instead of their sum; ``keras`` is Keras's element-wise update;
            ``auto`` fuses when the model reads bags or has ``BAGS_FROM_ITEMS``
            items or more over every domain, so that runs on smaller catalogues
            keep Keras's rounding bit for bit.
    """

    adam_update: Literal["auto", "fused", "keras"] = "auto"

    def fuses_adam(self, num_items: int, reads_bags: bool) -> bool:
        """Whether a model of ``num_items`` items (reading bags or not) fuses Adam."""
        if self.adam_update == "auto":
            return reads_bags or num_items >= BAGS_FROM_ITEMS
        return self.adam_update == "fused"


@dataclasses.dataclass
class TwoPlayerConfig(Config):
    """The second player of a model with a discriminator or critic.

    Args:
        d_learning_rate: the discriminator's Adam step size (None: ``learning_rate``).
        d_steps: discriminator updates per generator update
            (see :class:`tfxdr.models.base.TfxdrModel`).
    """

    d_learning_rate: float | None = None
    d_steps: int = 1

    def validate(self) -> None:
        super().validate()
        if self.d_learning_rate is not None:
            require(self, "d_learning_rate", 0 < self.d_learning_rate < math.inf,
                    "a finite number > 0 (or none: the learning_rate)")
        require(self, "d_steps", self.d_steps >= 1, "an integer >= 1")


@dataclasses.dataclass
class CtrTrainConfig(TrainConfig):
    """What every CTR model shares: its schedule, which training rows it sees, and how
    it reads ids and numbers that training never saw.

    Args:
        train_domains: the domains whose training rows the model sees: ``all``
            (``both`` is the same), ``source`` (every domain but the last: DAAN's
            Src-only), ``target`` (the last: DAAN's Self-train) or domain names,
            comma-separated.  Rows left out are gone from the run, from the
            history features too, as if the data did not have them; validation
            and test rows never change.  The checkpoint is chosen on the last of
            these domains.
        target_fraction: share of the target domain's training rows kept, drawn
            with the run's seed (DAAN's Table 4 sweep).
        continuous_buckets: numeric user or item columns with many values are
            bucketed into this many quantile buckets of the training rows; 0
            makes each value a category.
        unknown_id_rate: share of the user, item and history ids of each training
            batch replaced by the unknown id, so that its embedding is trained
            (most evaluated users are cold, so served with it).  On ML-100K
            validation (din, target AUC, seeds 0-1) rates 0, 0.02 and 0.05 tied
            (0.7149, 0.7144, 0.7147) and 0.1, 0.2 lost (0.7136, 0.7100); 0.02 is
            the smallest of the tied rates that trains the row.
    """

    epochs: int = 10
    batch_size: int = 1024
    learning_rate: float = 1e-3
    patience: int = 2
    train_domains: str = "all"
    target_fraction: float = 1.0
    continuous_buckets: int = 0
    unknown_id_rate: float = 0.02

    def validate(self) -> None:
        super().validate()
        require(self, "train_domains", bool(self.train_domains.strip()),
                "all, source, target or domain names")
        require(self, "target_fraction", 0.0 < self.target_fraction <= 1.0,
                "a fraction in (0, 1]")
        require(self, "continuous_buckets", self.continuous_buckets != 1
                and 0 <= self.continuous_buckets <= 100, "0 or an integer in [2, 100]")
        require(self, "unknown_id_rate", 0.0 <= self.unknown_id_rate < 1.0,
                "a number in [0, 1)")


def resolve_train_domains(value: str, domains: tuple[str, ...]) -> tuple[str, ...]:
    """The domains a ``train_domains`` value names, in the run's order: ``all``/``both``,
    ``source`` (every domain but the last), ``target`` (the last) or comma-separated names."""
    value = value.strip()
    if value in ("all", "both"):
        return tuple(domains)
    if value == "source":
        return tuple(domains[:-1])
    if value == "target":
        return (domains[-1],)
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in domains]
    if unknown or not names:
        raise ConfigError(f"train_domains={value!r} is invalid: expected all, source, target or "
                          f"names among {', '.join(domains)}", field="train_domains")
    return tuple(d for d in domains if d in names)


def require(config: Any, field: str, ok: bool, expected: str) -> None:
    """Raises ConfigError naming ``field`` unless ``ok``; for use in ``validate`` methods."""
    if not ok:
        raise ConfigError(
            f"{type(config).__name__}.{field}={getattr(config, field)!r} is invalid: "
            f"expected {expected}", field=field)


def field_names(config_cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(config_cls)]


def to_dict(config: Any) -> dict[str, Any]:
    """The config as JSON-ready values (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def from_dict(config_cls: type[C], values: Mapping[str, Any]) -> C:
    """Rebuilds a config saved by :func:`to_dict`; unknown keys are an error."""
    unknown = sorted(set(values) - set(field_names(config_cls)))
    if unknown:
        raise ConfigError(
            f"unknown field(s) {', '.join(unknown)} for {config_cls.__name__}; "
            f"valid fields: {', '.join(field_names(config_cls))}", field=unknown[0])
    hints = typing.get_type_hints(config_cls)
    kwargs = {k: tuple(v) if typing.get_origin(hints[k]) is tuple and isinstance(v, list) else v
              for k, v in values.items()}
    config = config_cls(**kwargs)
    config.validate()
    return config


def unknown_field(cls: type, key: str) -> ConfigError:
    return ConfigError(f"unknown config field {key!r} for {cls.__name__}; "
                       f"valid fields: {', '.join(field_names(cls))}", field=key)


def apply_overrides(config: C, overrides: Iterable[str]) -> C:
    """Returns a copy of ``config`` with ``key=value`` strings applied; ``config``
    itself is left unchanged.

    Raises:
        ConfigError: for a malformed item, an unknown key (listing the valid
            ones) or a value that does not parse as the field's type.
    """
    cls = type(config)
    hints = typing.get_type_hints(cls)
    names = field_names(cls)
    changes: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r} is malformed: expected key=value")
        if key not in names:
            raise unknown_field(cls, key)
        changes[key] = parse_value(cls.__name__, key, hints[key], raw.strip())
    updated = dataclasses.replace(config, **changes)
    updated.validate()
    return updated


def apply_values(config: C, values: Mapping[str, Any]) -> C:
    """Returns a copy of ``config`` with fields set from JSON values (a list for a
    tuple, null for none), as a config file or a tuner gives them; validated.

    Raises:
        ConfigError: an unknown field, or a value not of the field's type.
    """
    cls = type(config)
    hints = typing.get_type_hints(cls)
    names = field_names(cls)
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in names:
            raise unknown_field(cls, key)
        changes[key] = json_value(cls.__name__, key, hints[key], value)
    updated = dataclasses.replace(config, **changes)
    updated.validate()
    return updated


def json_value(owner: str, key: str, hint: Any, value: Any) -> Any:
    """Checks the JSON ``value`` of field ``owner.key`` against its type ``hint``;
    returns it as the field holds it (a tuple for a list, a float for an integer)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)

    def invalid(expected: str) -> ConfigError:
        return ConfigError(f"{owner}.{key}={value!r} is invalid: expected {expected}", field=key)

    if origin in UNIONS:
        if value is None and type(None) in args:
            return None
        return json_value(owner, key, next(a for a in args if a is not type(None)), value)
    if origin is Literal:
        if value not in args:
            raise invalid("one of " + ", ".join(map(str, args)))
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise invalid("a list")
        return tuple(json_value(owner, key, args[0], v) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise invalid("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid("a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise invalid("a string")
        return value
    raise ConfigError(f"{owner}.{key} cannot be set from JSON", field=key)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The JSON object of config field values in ``path`` (a study's best_config.json).

    Raises:
        ConfigError: the file is missing, not JSON, or not an object; naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        values = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a JSON object of config fields, got "
                          f"{type(values).__name__}")
    return values


def parse_value(owner: str, key: str, hint: Any, raw: str) -> Any:
    """Parses ``raw`` as the type ``hint`` of field ``owner.key``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)

    def invalid(expected: str) -> ConfigError:
        return ConfigError(f"{owner}.{key}={raw!r} is invalid: expected {expected}", field=key)

    if origin in UNIONS:
        non_none = [a for a in args if a is not type(None)]
        if raw.lower() in ("none", "null", ""):
            return None
        return parse_value(owner, key, non_none[0], raw)
    if origin is Literal:
        if raw not in args:
            raise invalid("one of " + ", ".join(map(str, args)))
        return raw
    if origin is tuple:
        parts = [p for p in raw.replace(" ", "").split(",") if p]
        if not parts:
            raise invalid("a comma-separated list with at least one value")
        return tuple(parse_value(owner, key, args[0], p) for p in parts)
    if hint is bool:
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise invalid("true or false")
    if hint is int:
        try:
            return int(raw)
        except ValueError:
            raise invalid("an integer") from None
    if hint is float:
        try:
            return float(raw)
        except ValueError:
            raise invalid("a number") from None
    if hint is str:
        return raw
    raise ConfigError(f"{owner}.{key} cannot be set from text", field=key)
