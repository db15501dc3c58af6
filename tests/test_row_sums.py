"""benchmarks/row_sums.py: every way it times sums the rows alike."""

import numpy as np
import tensorflow as tf

from scripts import load_benchmark


def test_every_way_sums_the_rows_into_their_table_rows():
    rows = tf.constant([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]])
    index = tf.constant([2, 0, 2])
    for name, way in load_benchmark("row_sums").ways(rows, index, 3).items():
        np.testing.assert_allclose(way().numpy(), [[10, 20], [0, 0], [101, 202]],
                                   err_msg=name)
