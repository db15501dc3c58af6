"""Which versions of a model a server loads, and which one a request reaches.

TF Serving watches a base path for integer-named version directories (other
names, such as the hidden scratch directories of an export in progress, are
ignored), loads those its version policy selects (the latest by default), and
routes a request by its explicit version, its label or else to the latest
loaded version; the answers below are TF Serving's own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

from tfxdr.export.warmup import WARMUP_FILE, error_line, read_warmup
from tfxdr_serving.protocol import ServingError


def versions_on_disk(base_path: str | Path) -> list[int]:
    """The integer versions under a base path, ascending."""
    base = Path(base_path)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


def versions_to_serve(on_disk: Sequence[int], specific: Sequence[int] = (),
                      latest: int = 1) -> list[int]:
    """The versions a policy loads: ``specific`` ones that are on disk, or else the
    ``latest`` newest."""
    if specific:
        return sorted(set(specific) & set(on_disk))
    return sorted(on_disk)[-latest:] if latest > 0 else []


def resolve(name: str, available: Sequence[int], labels: Mapping[str, int],
            version: int | None = None, label: str | None = None) -> int:
    """The loaded version a request for ``name`` reaches.

    Raises:
        ServingError: INVALID_ARGUMENT for a version and a label together or an
            unknown label; UNAVAILABLE for a label on a version not loaded;
            NOT_FOUND for a version not loaded or a model with none.
    """
    if version is not None and label is not None:
        raise ServingError("INVALID_ARGUMENT", "a request names a version or a label, not both")
    if label is not None:
        if label not in labels:
            raise ServingError("INVALID_ARGUMENT", f"Unrecognized servable version label: {label}")
        version = labels[label]
        if version not in available:
            raise ServingError("UNAVAILABLE", f"label {label} of model {name} points at version "
                               f"{version}, which is not loaded")
        return version
    if version is not None:
        if version not in available:
            raise ServingError("NOT_FOUND",
                               f"Servable not found for request: Specific({name}, {version})")
        return version
    if not available:
        raise ServingError("NOT_FOUND", f"Servable not found for request: Latest({name})")
    return max(available)


class ServedVersion:
    """One version of a model, run as TF Serving runs it: a session over the
    SavedModel's graph, fed and fetched by the tensor names of its signatures.

    Inputs are checked against each signature before the graph runs (TF
    Serving's session would cast a float to an int64 input without a word), and
    a graph error names the input by its alias, not its placeholder.
    """

    def __init__(self, path: str | Path, intra_op_threads: int = 0, inter_op_threads: int = 0):
        import tensorflow as tf

        self.path = Path(path)
        self.graph = tf.Graph()
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=intra_op_threads,
                                          inter_op_parallelism_threads=inter_op_threads)
        self.session = tf.compat.v1.Session(graph=self.graph, config=config)
        with self.graph.as_default():
            meta = tf.compat.v1.saved_model.loader.load(self.session, ["serve"], str(path))
        self.signatures = {key: value for key, value in meta.signature_def.items()
                           if not key.startswith("__")}

    def predict(self, signature_name: str | None, inputs: Mapping) -> dict:
        """``{output alias: array}`` of one signature on ``inputs`` ({alias: array}).

        Raises:
            ServingError: FAILED_PRECONDITION for an unknown signature;
                INVALID_ARGUMENT for missing, extra or mistyped inputs, or a graph
                error caused by the request (naming the input).
        """
        import numpy as np
        import tensorflow as tf

        name = signature_name or "serving_default"
        if name not in self.signatures:
            raise ServingError("FAILED_PRECONDITION", f'Serving signature key "{name}" not found.')
        signature = self.signatures[name]
        expected, sent = set(signature.inputs), set(inputs)
        if sent != expected:
            raise ServingError("INVALID_ARGUMENT", (
                f"input size does not match signature: {len(sent)}!={len(expected)} "
                f"len({{{', '.join(sorted(sent))}}}) != len({{{', '.join(sorted(expected))}}}). "
                f"Sent extra: {{{', '.join(sorted(sent - expected))}}}. "
                f"Missing but required: {{{', '.join(sorted(expected - sent))}}}."))
        feeds = {}
        for alias, info in signature.inputs.items():
            dtype = tf.as_dtype(info.dtype)
            value = np.asarray(inputs[alias])
            feeds[info.name] = _typed(alias, value, dtype)
        fetches = {alias: info.name for alias, info in signature.outputs.items()}
        try:
            return self.session.run(fetches, feeds)
        except tf.errors.OpError as error:
            message = error.message
            for alias, info in signature.inputs.items():  # placeholder -> the input's name
                message = re.sub(rf"_arg_{re.escape(info.name.split(':')[0])}_\d+_\d+", alias,
                                 message)
            code = "INVALID_ARGUMENT" if isinstance(error, tf.errors.InvalidArgumentError) \
                else "INTERNAL"
            raise ServingError(code, error_line(message) or message.strip()) from None

    def close(self) -> None:
        self.session.close()


def _typed(alias: str, value, dtype):
    """``value`` as ``dtype`` takes it, refusing what would be silently converted."""
    import numpy as np

    kind = value.dtype.kind
    if dtype.name == "string":
        if value.size and kind not in "OSU":
            raise ServingError("INVALID_ARGUMENT", f"input {alias}: expected strings, got "
                               f"{value.dtype}")
        return np.vectorize(lambda v: v if isinstance(v, bytes) else str(v).encode(),
                            otypes=[object])(value) if value.size else value.astype(object)
    if dtype.is_integer and value.size and kind not in "iu":
        raise ServingError("INVALID_ARGUMENT", f"input {alias}: expected {dtype.name}, got "
                           f"{value.dtype}")
    if dtype.is_floating and value.size and kind not in "iuf":
        raise ServingError("INVALID_ARGUMENT", f"input {alias}: expected {dtype.name}, got "
                           f"{value.dtype}")
    return value.astype(dtype.as_numpy_dtype)



class ServedModel:
    """A model's loaded versions under its base path, kept in step with the disk.

    Args:
        name, base_path: the model and its directory of versions.
        specific: the versions to load (empty: the ``latest`` newest).
        labels: version labels.
        allow_unavailable_labels: accept a label on a version not loaded yet
            (TF Serving's ``--allow_version_labels_for_unavailable_models``);
            otherwise such a label is refused when the model is first loaded.
        warmup: replay each version's warmup file before it serves; a version
            whose warmup fails is not served (the previous ones go on).
    """

    def __init__(self, name: str, base_path: str | Path, specific: Sequence[int] = (),
                 latest: int = 1, labels: Mapping[str, int] | None = None,
                 allow_unavailable_labels: bool = False, warmup: bool = True):
        self.name, self.base_path = name, Path(base_path)
        self.specific, self.latest = tuple(specific), latest
        self.labels = dict(labels or {})
        self.warmup = warmup
        self.versions: dict[int, ServedVersion] = {}
        self.failed: dict[int, str] = {}
        self.poll()
        missing = {label: v for label, v in self.labels.items() if v not in self.versions}
        if missing and not allow_unavailable_labels:
            label, version = next(iter(missing.items()))
            raise ServingError("FAILED_PRECONDITION", (
                f"Request to assign label to version {version} of model {name}, which is not "
                "currently available for inference"))

    def poll(self) -> None:
        """Loads the versions the policy now selects and unloads the others, once one
        it selects serves (TF Serving's availability-preserving policy: a new version
        that fails to load leaves the old one serving)."""
        wanted = versions_to_serve(versions_on_disk(self.base_path), self.specific, self.latest)
        for version in wanted:
            if version not in self.versions and version not in self.failed:
                self._load(version)
        if any(version in self.versions for version in wanted):
            for version in set(self.versions) - set(wanted):
                self.versions.pop(version).close()

    def _load(self, version: int) -> None:
        path = self.base_path / str(version)
        try:
            served = ServedVersion(path)
            if self.warmup and (path / "assets.extra" / WARMUP_FILE).is_file():
                for signature, inputs in read_warmup(path / "assets.extra" / WARMUP_FILE):
                    served.predict(signature, inputs)
        except Exception as error:  # a version that fails to load is reported, not served
            self.failed[version] = str(error).strip().splitlines()[0] if str(error).strip() \
                else type(error).__name__
            return
        self.versions[version] = served

    def get(self, version: int | None = None, label: str | None = None) -> tuple[int, ServedVersion]:
        number = resolve(self.name, list(self.versions), self.labels, version, label)
        return number, self.versions[number]

    def status(self, version: int | None = None) -> list[dict]:
        """TF Serving's model status: every loaded or failed version, newest first."""
        states = {v: ("AVAILABLE", "OK", "") for v in self.versions}
        states.update({v: ("END", "UNKNOWN", message) for v, message in self.failed.items()})
        if version is not None:
            if version not in states:
                raise ServingError("NOT_FOUND", f"Could not find version {version} of model "
                                   f"{self.name}")
            states = {version: states[version]}
        return [{"version": str(v), "state": state,
                 "status": {"error_code": code, "error_message": message}}
                for v, (state, code, message) in sorted(states.items(), reverse=True)]
