"""Typed configuration dataclasses and ``key=value`` overrides.

Every model has a ``Config`` dataclass whose defaults are its paper's values.
Configs are plain frozen-free dataclasses so that they serialise to JSON with
the run and can be rebuilt from it; :func:`apply_overrides` parses command-line
``--set key=value`` strings against the field types and names the field in
every error.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Iterable, Mapping, TypeVar

from tfxdr.errors import ConfigError

C = TypeVar("C")


@dataclasses.dataclass
class TrainConfig:
    """Fields every trainable model shares: the optimisation loop and selection.

    Args:
        epochs: maximum number of passes over the training users.
        batch_size: examples per gradient step.
        learning_rate: Adam step size.
        eval_every: run the validation ranking every this many epochs.
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

    def validate(self) -> None:
        """Raises ConfigError naming the first field whose value is out of range."""
        _require(self, "epochs", self.epochs >= 1, "an integer >= 1")
        _require(self, "batch_size", self.batch_size >= 1, "an integer >= 1")
        _require(self, "learning_rate", self.learning_rate > 0, "a number > 0")
        _require(self, "eval_every", self.eval_every >= 1, "an integer >= 1")
        _require(self, "patience", self.patience >= 0, "an integer >= 0")
        _require(self, "top_k", self.top_k >= 1, "an integer >= 1")


@dataclasses.dataclass
class CtrTrainConfig(TrainConfig):
    """The training schedule shared by the CTR models: at most 10 epochs of batch
    1024 at Adam 1e-3, stopping after 2 validations without improvement."""

    epochs: int = 10
    batch_size: int = 1024
    learning_rate: float = 1e-3
    patience: int = 2


def _require(config: Any, field: str, ok: bool, expected: str) -> None:
    if not ok:
        raise ConfigError(
            f"{type(config).__name__}.{field}={getattr(config, field)!r} is invalid: "
            f"expected {expected}"
        )


def require(config: Any, field: str, ok: bool, expected: str) -> None:
    """Raises ConfigError unless ``ok``; for use in ``validate`` methods."""
    _require(config, field, ok, expected)


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
            f"valid fields: {', '.join(field_names(config_cls))}"
        )
    hints = typing.get_type_hints(config_cls)
    kwargs = {k: _coerce_json(hints[k], v) for k, v in values.items()}
    config = config_cls(**kwargs)
    if hasattr(config, "validate"):
        config.validate()
    return config


def _coerce_json(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    return value


def apply_overrides(config: C, overrides: Iterable[str]) -> C:
    """Returns a copy of ``config`` with ``key=value`` strings applied.

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
            raise ConfigError(f"--set {item!r} is malformed: expected key=value")
        if key not in names:
            raise ConfigError(
                f"unknown config field {key!r} for {cls.__name__}; "
                f"valid fields: {', '.join(names)}"
            )
        changes[key] = parse_value(cls.__name__, key, hints[key], raw.strip())
    updated = dataclasses.replace(config, **changes)
    if hasattr(updated, "validate"):
        updated.validate()
    return updated


def parse_value(owner: str, key: str, hint: Any, raw: str) -> Any:
    """Parses ``raw`` as the type ``hint`` of field ``owner.key``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        non_none = [a for a in args if a is not type(None)]
        if raw.lower() in ("none", "null", ""):
            return None
        return parse_value(owner, key, non_none[0], raw)
    if origin is typing.Literal:
        if raw not in args:
            raise ConfigError(
                f"{owner}.{key}={raw!r} is invalid: expected one of {', '.join(map(str, args))}"
            )
        return raw
    if origin is tuple:
        item_type = args[0]
        parts = [p for p in raw.replace(" ", "").split(",") if p]
        return tuple(parse_value(owner, key, item_type, p) for p in parts)
    if hint is bool:
        lowered = raw.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ConfigError(f"{owner}.{key}={raw!r} is invalid: expected true or false")
    if hint is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{owner}.{key}={raw!r} is invalid: expected an integer") from None
    if hint is float:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{owner}.{key}={raw!r} is invalid: expected a number") from None
    if hint is str:
        return raw
    raise ConfigError(f"{owner}.{key} cannot be set from the command line")


@dataclasses.dataclass
class TrainingRowsConfig:
    """Which training rows of a two-domain (SOURCE,TARGET) task a model sees.

    Rows left out are gone from the run, from its history features too, as if
    the data did not have them; validation and test rows never change.

    Args:
        train_domains: ``both``; ``target`` (DAAN's Self-train); ``source`` (Src-only,
            its checkpoint chosen on the source domain's validation AUC).
        target_fraction: share of the target domain's training rows kept, drawn
            with the run's seed (DAAN's Table 4 sweep).
    """

    train_domains: typing.Literal["both", "source", "target"] = "both"
    target_fraction: float = 1.0

    def validate(self) -> None:
        _require(self, "target_fraction", 0.0 < self.target_fraction <= 1.0,
                 "a fraction in (0, 1]")
        if hasattr(super(), "validate"):
            super().validate()
