"""A registry of models by name: model class, config class, task family, domain count."""

from __future__ import annotations

import dataclasses

from tfxdr.errors import ConfigError, DataError


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the training helper needs to know about a model.

    Args:
        name: registry key (the command line's MODEL argument).
        model_cls: a :class:`tfxdr.models.base.TfxdrModel` subclass.
        config_cls: dataclass of hyperparameters whose defaults are the paper's.
        task: example family the model consumes (``clicks``, ``ctr``).
        summary: one line for ``tfxdr models``.
        min_domains / max_domains: how many domains the model takes (None: no limit).
    """

    name: str
    model_cls: type
    config_cls: type
    task: str
    summary: str
    min_domains: int = 2
    max_domains: int | None = None

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
                f"unknown model {name!r}; registered models: {', '.join(self.names())}",
                field="model") from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def name_of(self, model_cls: type, config_cls: type) -> str:
        """The name a model class is registered under with this config class ("" if none)."""
        for spec in self._specs.values():
            if spec.model_cls is model_cls and spec.config_cls is config_cls:
                return spec.name
        return ""

    def specs(self) -> list[ModelSpec]:
        return [self._specs[n] for n in self.names()]


MODELS = Registry()


def register(name: str, model_cls: type, config_cls: type, task: str, summary: str,
             min_domains: int = 2, max_domains: int | None = None) -> ModelSpec:
    """Registers ``model_cls`` under ``name`` in :data:`MODELS`."""
    return MODELS.register(ModelSpec(name, model_cls, config_cls, task, summary, min_domains,
                                     max_domains))
