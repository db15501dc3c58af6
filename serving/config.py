"""TF Serving's model server config (``--model_config_file``) for tfxdr exports.

Each model is a base path of integer version directories (``tfxdr export RUN
--base-path DIR --name NAME``).  A model with version labels (``stable``,
``canary``) is served at a ``specific`` version policy holding every labelled
version: TF Serving refuses to start when a label points at a version its
policy does not load, and its default policy loads only the latest.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Mapping, Sequence

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
LABEL = re.compile(r"[A-Za-z0-9_]+")  # what TF Serving's REST paths accept


class ConfigError(ValueError):
    """A model entry TF Serving would refuse, named with what was expected."""


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One served model.

    Args:
        name: the model's name in requests.
        base_path: the directory of its version directories.
        versions: the versions to serve; empty: the latest only (or, with
            labels, the labelled ones).
        labels: version labels, e.g. ``{"stable": 1, "canary": 2}``.
    """

    name: str
    base_path: str
    versions: tuple[int, ...] = ()
    labels: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def served_versions(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.versions) | set(self.labels.values())))


def check(entries: Sequence[ModelEntry]) -> None:
    """Raises :class:`ConfigError` for what TF Serving would refuse: repeated or
    malformed names, malformed labels, a labelled or listed version missing on disk."""
    seen = set()
    for entry in entries:
        if not MODEL_NAME.fullmatch(entry.name):
            raise ConfigError(f"model name {entry.name!r}: expected letters, digits, '_', '.' "
                              "or '-', starting with a letter or digit")
        if entry.name in seen:
            raise ConfigError(f"model {entry.name!r} is listed twice")
        seen.add(entry.name)
        for label in entry.labels:
            if not LABEL.fullmatch(label):
                raise ConfigError(f"model {entry.name!r}: label {label!r}: expected letters, "
                                  "digits or '_'")
        for version in entry.served_versions():
            if not (Path(entry.base_path) / str(version)).is_dir():
                raise ConfigError(f"model {entry.name!r}: version {version} is not under "
                                  f"{entry.base_path}")


def model_config(entries: Sequence[ModelEntry], container_root: str | None = None) -> str:
    """The text of a ``ModelServerConfig`` serving ``entries``.

    ``container_root``: the directory the server sees the models under (the
    ``/models`` of the ``tensorflow/serving`` image); each base path becomes
    ``CONTAINER_ROOT/NAME``.  The text is parsed back before it is returned.
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    check(entries)
    config = model_server_config_pb2.ModelServerConfig()
    for entry in entries:
        model = config.model_config_list.config.add()
        model.name = entry.name
        model.base_path = (f"{container_root.rstrip('/')}/{entry.name}" if container_root
                           else str(Path(entry.base_path).absolute()))
        model.model_platform = "tensorflow"
        versions = entry.served_versions()
        if versions:
            model.model_version_policy.specific.versions.extend(versions)
        else:
            model.model_version_policy.latest.num_versions = 1
        for label, version in sorted(entry.labels.items()):
            model.version_labels[label] = version
    text = text_format.MessageToString(config)
    text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    return text


def monitoring_config(path: str = "/monitoring/prometheus/metrics") -> str:
    """``--monitoring_config_file``: Prometheus metrics served on the REST port at ``path``."""
    if not path.startswith("/"):
        raise ConfigError(f"metrics path {path!r}: expected an absolute URL path")
    return f'prometheus_config {{\n  enable: true\n  path: "{path}"\n}}\n'


def batching_parameters(max_batch_size: int = 128, batch_timeout_micros: int = 0,
                        max_enqueued_batches: int = 1000, num_batch_threads: int = 4) -> str:
    """``--batching_parameters_file`` (with ``--enable_batching``).

    ``pad_variable_length_inputs`` stays off: TF Serving pads a shorter request
    with its tensor's first element, which in a history request is a real item
    id, so requests batched together must already have one length (the client
    pads them with -1 or "").
    """
    values = {"max_batch_size": max_batch_size, "batch_timeout_micros": batch_timeout_micros,
              "max_enqueued_batches": max_enqueued_batches,
              "num_batch_threads": num_batch_threads}
    for name, value in values.items():
        if value < (0 if name == "batch_timeout_micros" else 1):
            raise ConfigError(f"{name}={value}: expected an integer >= "
                              f"{0 if name == 'batch_timeout_micros' else 1}")
    return "".join(f"{name} {{ value: {value} }}\n" for name, value in values.items()) + \
        "pad_variable_length_inputs: false\n"
