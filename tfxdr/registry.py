"""A registry of models by name: config class, task family, domain count, model class.

Entries are declared beside the config classes in :mod:`tfxdr.hparams`, which
import no TensorFlow; the model class is named as ``"module:Class"`` and
imported only when a model is built, so the command line resolves and checks
a whole configuration before paying for the TensorFlow import.
"""

from __future__ import annotations

import dataclasses
import importlib

from tfxdr.config import apply_overrides, apply_values
from tfxdr.errors import ConfigError, DataError


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the training helper needs to know about a model.

    Args:
        name: registry key (the command line's MODEL argument).
        model: a :class:`tfxdr.models.base.TfxdrModel` subclass, or its
            ``"module:Class"`` path (imported on first use).
        config_cls: dataclass of hyperparameters whose defaults are the paper's.
        task: example family the model consumes (``clicks``, ``ctr``).
        summary: one line for ``tfxdr models``.
        min_domains / max_domains: how many domains the model takes (None: no limit).
    """

    name: str
    model: type | str
    config_cls: type
    task: str
    summary: str
    min_domains: int = 2
    max_domains: int | None = None

    @property
    def model_cls(self) -> type:
        if not isinstance(self.model, str):
            return self.model
        module, _, name = self.model.partition(":")
        return getattr(importlib.import_module(module), name)

    @property
    def model_path(self) -> str:
        if isinstance(self.model, str):
            return self.model
        return f"{self.model.__module__}:{self.model.__qualname__}"

    def create(self, config, spec, seed: int = 0):
        """The model, built from the feature spec and compiled with its optimizers."""
        self.check_domains(tuple(spec.domains))
        model = self.model_cls(spec, config, seed=seed, registered_as=self.name)
        model.build()
        model.compile_default()
        return model

    def check_domains(self, domains: tuple[str, ...]) -> None:
        """Raises DataError naming the model and the count when it cannot take ``domains``."""
        n = len(domains)
        if n < self.min_domains or (self.max_domains is not None and n > self.max_domains):
            if self.min_domains == self.max_domains:
                expected = f"exactly {self.min_domains}"
            elif self.max_domains is None:
                expected = f"at least {self.min_domains}"
            else:
                expected = f"{self.min_domains} to {self.max_domains}"
            raise DataError(f"model {self.name!r} takes {expected} domains; got {n} "
                            f"({', '.join(domains)})", field="domains")


class Registry:
    """Name -> :class:`ModelSpec`; the entries of :mod:`tfxdr.hparams` load on first use."""

    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}

    def register(self, spec: ModelSpec) -> ModelSpec:
        if spec.name in self._specs:
            raise ValueError(f"model {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def unregister(self, name: str) -> None:
        del self._specs[name]

    def get(self, name: str) -> ModelSpec:
        self._load()
        try:
            return self._specs[name]
        except KeyError:
            raise ConfigError(
                f"unknown model {name!r}; registered models: {', '.join(self.names())}",
                field="model") from None

    def names(self) -> list[str]:
        self._load()
        return sorted(self._specs)

    def name_of(self, model_cls: type, config_cls: type) -> str:
        """The name a model class is registered under with this config class ("" if none)."""
        self._load()
        path = f"{model_cls.__module__}:{model_cls.__qualname__}"
        for spec in self._specs.values():
            if spec.model_path == path and spec.config_cls is config_cls:
                return spec.name
        return ""

    def specs(self) -> list[ModelSpec]:
        return [self._specs[n] for n in self.names()]

    @staticmethod
    def _load() -> None:
        importlib.import_module("tfxdr.hparams")  # registers the built-in models


MODELS = Registry()


def register(name: str, model: type | str, config_cls: type, task: str, summary: str,
             min_domains: int = 2, max_domains: int | None = None) -> ModelSpec:
    """Registers a model under ``name`` in :data:`MODELS`."""
    return MODELS.register(ModelSpec(name, model, config_cls, task, summary, min_domains,
                                     max_domains))


def resolve_config(model: str, overrides=(), epochs: int | None = None, values=None):
    """``(spec, config)``: the model's paper defaults, then ``values`` (JSON field values:
    a config file's, a tuner's), then ``--set`` overrides, then ``epochs``; raises
    ConfigError naming an unknown model or a bad field."""
    spec = MODELS.get(model)
    config = apply_values(spec.config_cls(), values) if values else spec.config_cls()
    extra = list(overrides) + ([f"epochs={epochs}"] if epochs is not None else [])
    return spec, apply_overrides(config, extra)
