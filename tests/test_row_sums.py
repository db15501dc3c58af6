"""benchmarks/row_sums.py: every way it times sums the rows alike."""

import numpy as np
import pytest
import tensorflow as tf

from scripts import load_benchmark


def test_every_way_sums_the_rows_into_their_table_rows():
    rows = tf.constant([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]])
    index = tf.constant([2, 0, 2])
    for name, way in load_benchmark("row_sums").ways(rows, index, 3).items():
        np.testing.assert_allclose(way().numpy(), [[10, 20], [0, 0], [101, 202]],
                                   err_msg=name)


def test_a_size_below_one_is_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as stopped:
        load_benchmark("row_sums").main(["--rows", "0"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        " error: argument --rows: expected an integer >= 1, got '0'")
