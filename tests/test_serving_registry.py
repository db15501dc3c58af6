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


def test_a_version_runs_its_signatures_by_tensor_name_and_checks_the_request(tiny_model):
    import numpy as np

    from tfxdr_serving.registry import ServedVersion

    served = ServedVersion(tiny_model)
    assert sorted(served.signatures) == ["score", "serving_default", "total"]
    out = served.predict(None, {"items": np.array([[1, 2], [3, -1]]),
                                "domain": np.array(["books", b"games"], object)})
    np.testing.assert_array_equal(out["total"], [3, 2])
    assert list(out["domain"]) == [b"BOOKS", b"GAMES"]
    for signature, inputs, code, message in (
            ("nope", {}, "FAILED_PRECONDITION", 'Serving signature key "nope" not found.'),
            ("score", {"items": np.array([[1]])}, "INVALID_ARGUMENT",
             "input size does not match signature: 1!=2 len({items}) != len({domain, items}). "
             "Sent extra: {}. Missing but required: {domain}."),
            # The session would cast 1.5 to 1 and answer: refused, naming the input.
            ("score", {"items": np.array([[1.5]]), "domain": np.array(["a"])},
             "INVALID_ARGUMENT", "input items: expected int64, got float64"),
            ("score", {"items": np.array([1]), "domain": np.array(["a"])}, "INVALID_ARGUMENT",
             "Shape of tensor items [1] is not compatible with expected shape [?,?].")):
        with pytest.raises(ServingError) as error:
            served.predict(signature, inputs)
        assert (error.value.code, error.value.message) == (code, message)
    served.close()


def test_a_model_serves_its_policys_versions_picks_up_new_ones_and_skips_a_bad_warmup(
        tiny_model, tmp_path):
    import shutil

    import numpy as np

    from tfxdr.export.warmup import WARMUP_FILE, write_warmup
    from tfxdr_serving.registry import ServedModel

    base = tmp_path / "tiny"
    shutil.copytree(tiny_model, base / "1")
    with pytest.raises(ServingError, match="assign label to version 2 of model tiny, which is "
                                           "not currently available"):
        ServedModel("tiny", base, labels={"canary": 2})
    model = ServedModel("tiny", base, specific=[1, 2], labels={"canary": 2},
                        allow_unavailable_labels=True)
    assert model.get()[0] == 1
    with pytest.raises(ServingError, match="points at version 2, which is not loaded"):
        model.get(label="canary")
    # Version 2 appears; version 3 (outside the policy) is not loaded.
    shutil.copytree(tiny_model, base / "2")
    shutil.copytree(tiny_model, base / "3")
    model.poll()
    assert model.get(label="canary")[0] == 2 and sorted(model.versions) == [1, 2]
    # A version whose warmup fails never serves; the others go on.
    latest = ServedModel("tiny", base)
    shutil.copytree(tiny_model, base / "4")
    (base / "4" / "assets.extra").mkdir()
    write_warmup(base / "4" / "assets.extra" / WARMUP_FILE,
                 [("score", {"items": np.array([1]), "domain": np.array([b"a"], object)})])
    latest.poll()
    assert latest.get()[0] == 3
    assert [s["version"] for s in latest.status()] == ["4", "3"]
    assert latest.status(4)[0]["state"] == "END"
    assert "Shape of tensor items [1]" in latest.status(4)[0]["status"]["error_message"]
    with pytest.raises(ServingError, match="Could not find version 9 of model tiny"):
        latest.status(9)
