"""What summing gathered rows into a table costs, by each way TensorFlow offers.

    python benchmarks/row_sums.py [--rows 28000] [--table 1200] [--dim 64] [--repeats 200]

A gather's gradient is one row per gathered position; before a dense update they
are summed into the table.  ``--rows`` random rows of ``--dim`` floats are summed
into a ``--table``-row table, each way in a ``tf.function``, ms per sum the mean of
``--repeats`` after one untimed call (the defaults: a two-tower step's rows of one
item table on ML-1M).  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfxdr.cli import _at_least  # noqa: E402


def ways(rows: tf.Tensor, index: tf.Tensor, table: int) -> dict:
    """Each way of summing ``rows`` at ``index`` into ``table`` rows, as a tf.function."""
    dim = rows.shape[1]

    def sorted_first():
        order = tf.argsort(index)
        return tf.math.unsorted_segment_sum(tf.gather(rows, order), tf.gather(index, order),
                                            table)

    def sparse_product():
        positions = tf.stack([tf.cast(index, tf.int64),
                              tf.range(tf.shape(index, tf.int64)[0])], axis=1)
        ones = tf.sparse.SparseTensor(positions, tf.ones(tf.shape(index)[:1]),
                                      [table, rows.shape[0]])
        return tf.sparse.sparse_dense_matmul(tf.sparse.reorder(ones), rows)

    return {"unsorted_segment_sum (what densifying a gather's gradient runs)":
            lambda: tf.math.unsorted_segment_sum(rows, index, table),
            "scatter_nd": lambda: tf.scatter_nd(index[:, None], rows, [table, dim]),
            "sort, then unsorted_segment_sum": sorted_first,
            "sorted segment_sum": lambda: tf.math.segment_sum(tf.gather(rows, tf.argsort(index)),
                                                              tf.sort(index)),
            "sparse-dense product": sparse_product}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=_at_least(1), default=28_000)
    parser.add_argument("--table", type=_at_least(1), default=1_200)
    parser.add_argument("--dim", type=_at_least(1), default=64)
    parser.add_argument("--repeats", type=_at_least(1), default=200)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = tf.constant(rng.normal(size=(args.rows, args.dim)).astype(np.float32))
    index = tf.constant(rng.integers(0, args.table, args.rows).astype(np.int32))
    print(f"{args.rows:,} rows of {args.dim} floats into {args.table:,} rows\n")
    print("| way | ms per sum |\n|---|---|")
    for name, way in ways(rows, index, args.table).items():
        step = tf.function(way)
        step().numpy()
        started = time.perf_counter()
        for _ in range(args.repeats):
            out = step()
        out.numpy()
        print(f"| {name} | {(time.perf_counter() - started) / args.repeats * 1e3:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
