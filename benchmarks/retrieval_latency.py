"""Top-200 retrieval latency and recall: the in-graph brute force against faiss indexes.

    python benchmarks/retrieval_latency.py                  # 10k, 100k and 1M items
    python benchmarks/retrieval_latency.py --sizes 10000 --queries 200

Item vectors of dimension 64 are drawn around ``--centres`` seeded centres (learned
item vectors cluster; uniform random vectors are the worst case of every
approximate index), queries likewise.  With few centres a query's exact top-200
lies in its own cluster once the catalogue is large, which favours IVF; more
centres spread it over several.  For each catalogue size it times one
query at a time (p50 and p99 over ``--queries``) and batches of 64 (per
batch), for: the exported signature's brute force (a matrix product and a
top-k in a traced TensorFlow function), faiss's exact IndexFlatIP, HNSW at
several search breadths, and IVF at several probe counts; recall@200 is the
share of the exact top-200 (faiss's flat search) each returns.  Build time and the index's memory
are reported too.  Prints one markdown table.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

K = 200
DIM = 64
BATCH = 64


def vectors(n: int, rng, centres) -> np.ndarray:
    picks = centres[rng.integers(len(centres), size=n)]
    return (picks + 0.5 * rng.normal(size=(n, DIM))).astype(np.float32)


def timed(search, queries: np.ndarray, batch: int) -> tuple[np.ndarray, list[float]]:
    """Every query's top-K ids, and the seconds each call took (after one warm-up)."""
    search(queries[:batch])
    found, seconds = [], []
    for start in range(0, len(queries), batch):
        begin = time.perf_counter()
        found.append(search(queries[start:start + batch]))
        seconds.append(time.perf_counter() - begin)
    return np.concatenate(found), seconds


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact)]))


def tf_brute_force(items: np.ndarray):
    import tensorflow as tf

    table = tf.constant(items)

    @tf.function(input_signature=[tf.TensorSpec([None, DIM], tf.float32)])
    def search(queries):
        return tf.math.top_k(tf.matmul(queries, table, transpose_b=True), k=K).indices

    return lambda q: search(q).numpy()


def faiss_indexes(items: np.ndarray):
    """(name, build seconds, bytes, search) for each faiss configuration."""
    import faiss

    out = []
    begin = time.perf_counter()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(items)
    out.append(("faiss flat (exact)", time.perf_counter() - begin, items.nbytes,
                lambda q, index=flat: index.search(q, K)[1]))
    begin = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 200
    hnsw.add(items)
    hnsw_seconds = time.perf_counter() - begin
    for ef in (256, 512, 1024, 2048):
        def search(q, index=hnsw, ef=ef):
            index.hnsw.efSearch = ef
            return index.search(q, K)[1]
        out.append((f"faiss HNSW M=32 efSearch={ef}", hnsw_seconds,
                    items.nbytes + len(items) * 32 * 2 * 4, search))
    begin = time.perf_counter()
    nlist = int(4 * np.sqrt(len(items)))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(items[np.random.default_rng(0).permutation(len(items))[:max(39 * nlist,
                                                                          10_000)]])
    ivf.add(items)
    ivf_seconds = time.perf_counter() - begin
    for nprobe in (16, 64, 256):
        def search(q, index=ivf, nprobe=nprobe):
            index.nprobe = nprobe
            return index.search(q, K)[1]
        out.append((f"faiss IVF nlist={nlist} nprobe={nprobe}", ivf_seconds, items.nbytes,
                    search))
    return out


def positive_int(text: str) -> int:
    """A positive integer (argparse reports anything else, exit status 2)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def positive_ints(text: str) -> list[int]:
    """A comma-separated list of positive integers."""
    return [positive_int(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=positive_ints, default="10000,100000,1000000")
    parser.add_argument("--queries", type=positive_int, default=1000,
                        help="single queries timed")
    parser.add_argument("--centres", type=positive_int, default=1000,
                        help="clusters the vectors are drawn around")
    parser.add_argument("--threads", type=int, default=None, help="faiss threads (default all)")
    args = parser.parse_args()
    import faiss

    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(args.centres, DIM))
    print(f"top-{K}, dimension {DIM}, {args.centres:,} centres, {os.cpu_count()} cores, "
          f"faiss {faiss.__version__}\n")
    print("| items | method | build s | index MB | single p50 ms | single p99 ms | "
          f"batch of {BATCH} ms | recall@{K} |")
    print("|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        items = vectors(size, rng, centres)
        queries = vectors(args.queries, rng, centres)
        reference = faiss.IndexFlatIP(DIM)  # exact (tests/test_retrieval.py checks it)
        reference.add(items)
        exact = reference.search(queries, K)[1]
        methods = [("TF brute force (in-graph)", 0.0, items.nbytes, tf_brute_force(items))]
        methods += faiss_indexes(items)
        for name, build, size_bytes, search in methods:
            found, single = timed(search, queries, 1)
            _, batched = timed(search, queries, BATCH)
            ms = np.array(single) * 1e3
            print(f"| {size:,} | {name} | {build:.1f} | {size_bytes / 2**20:.0f} | "
                  f"{np.percentile(ms, 50):.2f} | {np.percentile(ms, 99):.2f} | "
                  f"{np.median(batched) * 1e3:.1f} | {recall(found, exact):.4f} |", flush=True)


if __name__ == "__main__":
    main()
