"""Load and latency of served models: requests over loopback to the local model server.

    python benchmarks/serving_latency.py RUN_DIR [RUN_DIR ...] [--requests 1000]
        [--concurrency 1,8] [--transports grpc,rest] [--out FILE]

Each run is exported (``tfxdr export RUN --base-path TMP --name NAME``, NAME the
run's model) and all of them are served by one ``tfxdr-model-server`` in a
process of its own, so that the client's threads do not share its interpreter.
The requests are the exports' own one-user warmup requests (real validation
users, every signature), sent in turn.  For each model, transport and
concurrency (that many threads, each with its own client, sending one request
after another) it sends ``--requests`` requests and reports the errors (there
must be none), the p50 and p99 latency as the client sees it (serialising
included) and the throughput; beside them, the same requests run on the
version's session in the benchmark's own process, without any transport (the
floor the graph sets).  Prints one markdown table, also written to ``--out``
when given.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def export_runs(runs: list[Path], base: Path) -> dict[str, Path]:
    """Each run exported under ``base``, named by its model (``_2``... when repeated)."""
    from tfxdr import experiment
    from tfxdr.io import read_json

    exports = {}
    for run in runs:
        model = read_json(run / "config.json")["model"]
        name, number = model, 1
        while name in exports:
            number += 1
            name = f"{model}_{number}"
        exports[name] = experiment.export(run, base_path=base, name=name)
    return exports


def one_user_requests(export: Path) -> list[tuple[str, dict]]:
    from tfxdr.export.warmup import WARMUP_FILE, read_warmup

    requests = [(signature, inputs) for signature, inputs in
                read_warmup(export / "assets.extra" / WARMUP_FILE)
                if len(next(iter(inputs.values()))) == 1]
    return [(s, {k: v.astype(str) if v.dtype == object else v for k, v in i.items()})
            for s, i in requests]


def start_server(base: Path, names: list[str]) -> tuple[subprocess.Popen, dict]:
    from tfxdr_serving.client import ServingClient
    from tfxdr_serving.config import ModelEntry, model_config

    config = base / "models.config"
    config.write_text(model_config([ModelEntry(name, str(base / name)) for name in names]))
    grpc_port, rest_port = free_port(), free_port()
    server = subprocess.Popen([sys.executable, "-m", "tfxdr_serving.server",
                               f"--port={grpc_port}", f"--rest_api_port={rest_port}",
                               f"--model_config_file={config}",
                               "--file_system_poll_wait_seconds=0"],
                              stdout=subprocess.DEVNULL)
    targets = {"grpc": f"127.0.0.1:{grpc_port}", "rest": f"http://127.0.0.1:{rest_port}"}
    for name in names:  # retried while the server starts and loads
        ServingClient(targets["grpc"], name, timeout_s=300, retries=1000,
                      max_backoff_s=1.0).status()
    return server, targets


def load(target: str, model: str, requests: list, total: int, concurrency: int) -> dict:
    """``total`` requests from ``concurrency`` threads; latencies in ms and errors."""
    from tfxdr_serving.client import RequestError, ServingClient

    latencies, errors, lock = [], [], threading.Lock()

    def worker(index: int) -> None:
        with ServingClient(target, model, timeout_s=30, validate=False) as client:
            client.predict(requests[0][1], requests[0][0])  # connect before the clock
            for number in range(index, total, concurrency):
                signature, inputs = requests[number % len(requests)]
                start = time.perf_counter()
                try:
                    client.predict(inputs, signature)
                except RequestError as error:
                    with lock:
                        errors.append(str(error))
                    continue
                with lock:
                    latencies.append((time.perf_counter() - start) * 1e3)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    seconds = time.perf_counter() - start
    return {"errors": len(errors), "first_error": errors[0] if errors else "",
            "p50": float(np.percentile(latencies, 50)) if latencies else float("nan"),
            "p99": float(np.percentile(latencies, 99)) if latencies else float("nan"),
            "per_second": len(latencies) / seconds}


def graph_latency(export: Path, requests: list, count: int) -> tuple[float, float]:
    """p50 and p99 ms of the requests run on the version's session in this process
    (as the server runs them, without the transport): the floor of the latency."""
    from tfxdr_serving.registry import ServedVersion

    served = ServedVersion(export)
    served.predict(*requests[0])
    latencies = []
    for number in range(count):
        signature, inputs = requests[number % len(requests)]
        start = time.perf_counter()
        served.predict(signature, inputs)
        latencies.append((time.perf_counter() - start) * 1e3)
    served.close()
    return float(np.percentile(latencies, 50)), float(np.percentile(latencies, 99))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run directories")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--transports", default="grpc,rest")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    for run in args.runs:
        if not (run / "config.json").is_file():
            print(f"serving_latency: error: {run}: not a run directory (no config.json)",
                  file=sys.stderr)
            return 2
    levels = [int(c) for c in args.concurrency.split(",")]
    transports = [t.strip() for t in args.transports.split(",")]
    lines = [f"{args.requests} requests per row, one user each, over loopback to "
             f"tfxdr-model-server ({os.cpu_count()} cores, client and server on the same "
             "machine)", "",
             "| model | signatures | transport | concurrency | errors | p50 ms | p99 ms | "
             "requests/s | graph p50 / p99 ms |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    failed = False
    with tempfile.TemporaryDirectory(prefix="tfxdr-serving-bench-") as scratch:
        base = Path(scratch)
        exports = export_runs(args.runs, base)
        server, targets = start_server(base, list(exports))
        try:
            for name, export in exports.items():
                requests = one_user_requests(export)
                floor = "%.2f / %.2f" % graph_latency(export, requests, args.requests)
                for transport in transports:
                    for level in levels:
                        row = load(targets[transport], name, requests, args.requests, level)
                        failed |= row["errors"] > 0
                        lines.append(f"| {name} | {len({s for s, _ in requests})} | {transport} "
                                     f"| {level} | {row['errors']} | {row['p50']:.2f} | "
                                     f"{row['p99']:.2f} | {row['per_second']:.0f} | "
                                     f"{floor} |")
                        print(lines[-1] + (f"  first error: {row['first_error']}"
                                           if row["errors"] else ""), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        from tfxdr.io import write_text

        write_text(args.out, table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
