"""The serving load benchmark's client loop: every request answered or counted as an
error, over a real channel to the local server."""

import shutil

import numpy as np

from scripts import load_benchmark
from tfxdr_serving.grpc_server import grpc_server
from tfxdr_serving.registry import ServedModel


def test_the_load_loop_counts_answers_and_errors(tiny_model, tmp_path):
    bench = load_benchmark("serving_latency")
    shutil.copytree(tiny_model, tmp_path / "tiny" / "1")
    server, port = grpc_server({"tiny": ServedModel("tiny", tmp_path / "tiny")}, 0)
    try:
        good = [("total", {"items": np.array([[1, 2]])})]
        row = bench.load(f"127.0.0.1:{port}", "tiny", good, total=30, concurrency=4)
        assert row["errors"] == 0 and row["p50"] <= row["p99"]
        bad = good + [("total", {"items": np.array([1, 2])})]  # every other one: rank 1
        row = bench.load(f"127.0.0.1:{port}", "tiny", bad, total=30, concurrency=3)
        assert row["errors"] == 15
        assert row["first_error"].startswith("model tiny, signature total, input items: "
                                             "INVALID_ARGUMENT: Shape of tensor items [2]")
    finally:
        server.stop(None)
