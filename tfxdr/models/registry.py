"""A registry of models by name: config class, task family and builder."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from tfxdr.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the training helper needs to know about a model.

    Args:
        name: registry key (the CLI's MODEL argument).
        config_cls: dataclass of hyperparameters whose defaults are the paper's.
        task: example family the model consumes (``clicks``, ``sequences``, ``ctr``).
        build: ``build(config, sizes, seed) -> keras.Model``; ``sizes`` holds the
            vocabulary sizes the task derived from the data.
        summary: one line for ``tfxdr models``.
    """

    name: str
    config_cls: type
    task: str
    build: Callable[[Any, dict, int], Any]
    summary: str


class Registry:
    """Name -> :class:`ModelSpec`; registration happens when a model module is imported."""

    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}

    def register(self, spec: ModelSpec) -> ModelSpec:
        if spec.name in self._specs:
            raise ValueError(f"model {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise ConfigError(
                f"unknown model {name!r}; registered models: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[ModelSpec]:
        return [self._specs[n] for n in self.names()]


MODELS = Registry()


def registered(name: str, config_cls: type, task: str, summary: str):
    """Decorates a ``build(config, sizes, seed)`` function: registers it in :data:`MODELS`
    under ``name``.  Decorators stack to register one builder under several names."""

    def decorate(build):
        MODELS.register(ModelSpec(name=name, config_cls=config_cls, task=task, build=build,
                                  summary=summary))
        return build

    return decorate
