"""TF Serving's REST request and response JSON, and its status codes, by hand."""

import json

import numpy as np
import pytest

from tfxdr_serving.protocol import ServingError, format_predict, parse_predict

NAMES = ("items_books", "items_games")


def test_row_and_columnar_requests_give_the_same_arrays():
    rows = {"signature_name": "retrieve_books", "instances": [
        {"items_books": [1, 2], "items_games": [7, -1]},
        {"items_books": [3, -1], "items_games": [-1, -1]}]}
    columns = {"inputs": {"items_books": [[1, 2], [3, -1]], "items_games": [[7, -1], [-1, -1]],
                          "ignored": [0]}}
    signature, by_row, layout = parse_predict(rows, NAMES)
    assert (signature, layout) == ("retrieve_books", "row")
    none, by_column, layout = parse_predict(columns, NAMES)
    assert (none, layout) == (None, "columnar")
    for name in NAMES:
        np.testing.assert_array_equal(by_row[name], by_column[name])
    np.testing.assert_array_equal(by_row["items_games"], [[7, -1], [-1, -1]])
    # One input: each instance, or the columnar value, is the value itself.
    _, single, _ = parse_predict({"instances": [["a", ""], ["b", "c"]]}, ["item_ids"])
    assert single["item_ids"].tolist() == [["a", ""], ["b", "c"]]
    _, single, _ = parse_predict({"inputs": [[{"b64": "aGk="}]]}, ["item_ids"])
    assert single["item_ids"].tolist() == [[b"hi"]]


@pytest.mark.parametrize("body,message", [
    ({"instances": [{"items_books": [1]}]},
     "instance 0: its keys must be equal to: items_books,items_games"),
    ({"inputs": {"items_books": [[1]]}}, "Missing named input: items_games in 'inputs' object."),
    ({"instances": []}, "'instances' must be a non-empty list"),
    ({"instances": [{"items_books": [1], "items_games": [1]}], "inputs": {}},
     "exactly one of 'instances' (row format) or 'inputs' (columnar format)"),
    ({"inputs": {"items_books": [[1, 2], [3]], "items_games": [[1], [2]]}},
     "input items_books: rows of different shapes; pad them to one length"),
])
def test_malformed_requests_are_invalid_argument_naming_the_input(body, message):
    with pytest.raises(ServingError) as error:
        parse_predict(body, NAMES)
    assert error.value.code == "INVALID_ARGUMENT" and error.value.http_status == 400
    assert message in error.value.message
    assert error.value.json() == {"error": error.value.message}


def test_responses_are_per_row_objects_or_whole_columns_and_one_output_goes_unnamed():
    outputs = {"top_k_ids": np.array([[5, 6], [7, -1]]),
               "top_k_scores": np.array([[0.5, 0.25], [1.0, -np.inf]], np.float32)}
    rows = format_predict(outputs, "row")
    assert rows == {"predictions": [{"top_k_ids": [5, 6], "top_k_scores": [0.5, 0.25]},
                                    {"top_k_ids": [7, -1], "top_k_scores": [1.0, -np.inf]}]}
    assert "-Infinity" in json.dumps(rows)
    assert format_predict(outputs, "columnar") == {"outputs": {
        "top_k_ids": [[5, 6], [7, -1]], "top_k_scores": [[0.5, 0.25], [1.0, -np.inf]]}}
    assert format_predict({"ctr": np.array([0.5, 0.75])}, "row") == {"predictions": [0.5, 0.75]}
    assert format_predict({"ids": np.array([[b"a", b""]], object)}, "columnar") == {
        "outputs": [["a", ""]]}
    assert ServingError("NOT_FOUND", "x").http_status == 404
