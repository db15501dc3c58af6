"""Version discovery, version policies and request routing, as TF Serving answers them."""

import pytest

from tfxdr_serving.protocol import ServingError
from tfxdr_serving.registry import resolve, versions_on_disk, versions_to_serve


def test_only_integer_directories_are_versions_and_a_policy_picks_among_them(tmp_path):
    for name in ("1", "10", "2", ".3.partial-x", "latest"):
        (tmp_path / name).mkdir()
    (tmp_path / "4").write_text("a file, not a version")
    assert versions_on_disk(tmp_path) == [1, 2, 10]
    assert versions_on_disk(tmp_path / "missing") == []
    assert versions_to_serve([1, 2, 10]) == [10]
    assert versions_to_serve([1, 2, 10], latest=2) == [2, 10]
    assert versions_to_serve([1, 2, 10], specific=[1, 7]) == [1]


@pytest.mark.parametrize("request_,answer", [
    ({}, 3),
    ({"version": 1}, 1),
    ({"label": "stable"}, 1),
    ({"version": 2}, ("NOT_FOUND", "Servable not found for request: Specific(clicks, 2)")),
    ({"label": "beta"}, ("INVALID_ARGUMENT", "Unrecognized servable version label: beta")),
    ({"label": "canary"},
     ("UNAVAILABLE", "label canary of model clicks points at version 4, which is not loaded")),
    ({"version": 1, "label": "stable"},
     ("INVALID_ARGUMENT", "a request names a version or a label, not both")),
])
def test_a_request_reaches_its_version_its_label_or_the_latest(request_, answer):
    labels = {"stable": 1, "canary": 4}
    if isinstance(answer, int):
        assert resolve("clicks", [1, 3], labels, **request_) == answer
        return
    with pytest.raises(ServingError) as error:
        resolve("clicks", [1, 3], labels, **request_)
    assert (error.value.code, error.value.message) == answer


def test_a_model_with_nothing_loaded_is_not_found():
    with pytest.raises(ServingError, match=r"Servable not found for request: Latest\(ctr\)"):
        resolve("ctr", [], {})
