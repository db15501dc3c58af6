"""Components, their artifacts, lineage and cache.

A component reads the outputs of the components it names as inputs and writes
its own outputs (one directory each) under ``OUTPUT/<Component>/<key>/``.  The
key hashes everything the outputs depend on: the component, its parameters,
the content of its inputs and of any external file it reads, and the code of
``tfxdr`` and ``tfxdr_pipelines``.  A run whose key already has a finished
directory is served from it (a cache hit); a new one is written under a hidden
name and renamed into place once complete, so a failed or killed run leaves
earlier outputs as they were.  ``OUTPUT/<Component>/LATEST`` names the key of
the component's latest run, which is what a downstream component reads.

Each run writes ``lineage.json``: the component, its parameters, its inputs
(component, key and the content hash of each artifact), its outputs with
their content hashes, the code hash and the time; following the inputs back
traces a pushed model to the data, schema and code that made it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Callable

import tfxdr
from tfxdr.io import atomic_directory, read_json, write_text
from tfxdr_pipelines.errors import PipelineError

LINEAGE_FILE = "lineage.json"
LATEST_FILE = "LATEST"


@dataclasses.dataclass(frozen=True)
class Component:
    """A step of the pipeline.

    Args:
        name: the component's name (``ExampleGen``); its directory under the output.
        inputs: input artifact name -> ``"<Component>.<output>"`` it is read from.
        outputs: the names of its output artifacts.
        parameters: the config -> the plain values its outputs depend on.
        external: ``(config, output_root)`` -> ``{name: fingerprint}`` of what it
            reads from outside the pipeline (see :func:`file_fingerprints`); part
            of the key.
        run: ``run(context)`` writes the outputs.
        publishes: ``publishes(config)``: whether this process writes the outputs;
            not a worker of a cluster other than the chief, which runs the step for
            its share of the work and leaves the outputs to the chief.
    """

    name: str
    inputs: dict
    outputs: tuple[str, ...]
    parameters: Callable
    run: Callable
    external: Callable = lambda config, output_root: {}
    publishes: Callable = lambda config: True


@dataclasses.dataclass
class Context:
    """What a component's ``run`` gets: its inputs' and outputs' directories, the
    lineage of the runs that made its inputs, its key and parameters, the whole
    config and the Beam options; what it puts in ``notes`` is recorded in its
    lineage."""

    inputs: dict
    outputs: dict
    upstream: dict
    key: str
    parameters: dict
    config: object
    output_root: Path
    beam_args: list
    log: Callable[[str], None] = print
    notes: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Execution:
    """A finished run of a component: its key, directory and lineage; ``cached`` when
    the outputs were reused; ``published`` false for a worker's share of a step,
    whose outputs the chief writes."""

    component: str
    key: str
    directory: Path
    lineage: dict
    cached: bool
    published: bool = True

    def output(self, name: str) -> Path:
        return self.directory / name


def files_hash(path: Path) -> str:
    """sha256 over the relative names and contents of the files under ``path``
    (that of nothing when it does not exist)."""
    digest = hashlib.sha256()
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else file.name).encode())
        digest.update(b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def file_fingerprints(paths) -> dict:
    """``{path: sha256 of its content}`` of external files."""
    return {str(path): files_hash(path) for path in paths}


def code_hash() -> str:
    """The hash of every Python source of ``tfxdr`` and ``tfxdr_pipelines``: a change
    of code invalidates cached outputs."""
    digest = hashlib.sha256(tfxdr.__name__.encode())
    for package in (Path(tfxdr.__file__).parent, Path(__file__).parent):
        for source in sorted(package.rglob("*.py")):
            digest.update(str(source.relative_to(package.parent)).encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


def latest(output_root: Path, component: str) -> Execution:
    """The latest finished run of ``component`` under ``output_root``.

    Raises:
        PipelineError: the component has not run there.
    """
    pointer = Path(output_root) / component / LATEST_FILE
    if not pointer.is_file():
        raise PipelineError(f"{Path(output_root) / component}: {component} has not run in "
                            f"{output_root}; run it first")
    key = pointer.read_text().strip()
    directory = pointer.parent / key
    lineage = read_json(directory / LINEAGE_FILE, f"a finished run of {component}")
    return Execution(component, key, directory, lineage, cached=True)


def execute(component: Component, config, output_root: Path, beam_args: list | None = None,
            log: Callable[[str], None] = print) -> Execution:
    """Runs ``component`` (or reuses its cached outputs) and points ``LATEST`` at it."""
    output_root = Path(output_root)
    upstream = {}
    for name, source in component.inputs.items():
        producer, _, output = source.partition(".")
        upstream[name] = (latest(output_root, producer), output)
    parameters = component.parameters(config)
    external = component.external(config, output_root)
    code = code_hash()
    # Inputs count by content: a rerun upstream that wrote the same bytes keeps
    # everything downstream cached.
    key = hashlib.sha256(json.dumps({
        "component": component.name, "parameters": parameters, "code": code,
        "inputs": {name: run.lineage["outputs"][output]["sha256"]
                   for name, (run, output) in upstream.items()},
        "external": external}, sort_keys=True).encode()).hexdigest()[:16]
    directory = output_root / component.name / key
    pointer = output_root / component.name / LATEST_FILE
    if (directory / LINEAGE_FILE).is_file():
        log(f"{component.name}: cached ({directory})")
        write_text(pointer, key + "\n")
        return Execution(component.name, key, directory,
                         read_json(directory / LINEAGE_FILE), cached=True)

    def context(scratch) -> Context:
        outputs = {name: Path(scratch) / name for name in component.outputs}
        for path in outputs.values():
            path.mkdir()
        return Context(
            inputs={name: run.output(output) for name, (run, output) in upstream.items()},
            outputs=outputs, upstream={name: run.lineage for name, (run, _) in upstream.items()},
            key=key, parameters=parameters, config=config, output_root=output_root,
            beam_args=list(beam_args or []), log=log)

    if not component.publishes(config):
        log(f"{component.name}: running as a worker; the chief writes {directory}")
        directory.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=directory.parent, prefix=".worker-") as scratch:
            component.run(context(scratch))
        return Execution(component.name, key, directory, {}, cached=False, published=False)
    log(f"{component.name}: running -> {directory}")
    started = time.perf_counter()
    with atomic_directory(directory) as scratch:
        run_context = context(scratch)
        component.run(run_context)
        outputs = run_context.outputs
        lineage = {
            "component": component.name,
            "key": key,
            "parameters": parameters,
            "inputs": {name: {"component": run.component, "key": run.key, "artifact": output,
                              "sha256": run.lineage["outputs"][output]["sha256"]}
                       for name, (run, output) in upstream.items()},
            "external": external,
            "outputs": {name: {"uri": str(directory / name), "sha256": files_hash(path)}
                        for name, path in outputs.items()},
            "code": {"sha256": code, "tfxdr": getattr(tfxdr, "__version__", "")},
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 3),
            **run_context.notes,
        }
        (Path(scratch) / LINEAGE_FILE).write_text(json.dumps(lineage, indent=2) + "\n")
    write_text(pointer, key + "\n")
    log(f"{component.name}: done in {lineage['seconds']:.1f} s")
    return Execution(component.name, key, directory, lineage, cached=False)
