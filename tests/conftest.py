"""Shared fixtures: quiet TensorFlow, synthetic planted datasets (two and three domains)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dataclasses  # noqa: E402

import pytest  # noqa: E402

from tfxdr.data import make_split, select_domains  # noqa: E402
from tfxdr.data.synthetic import planted_domains  # noqa: E402
from tfxdr.data.table import RawDataset  # noqa: E402
from tfxdr.tasks import ClickTranslationTask  # noqa: E402


@pytest.fixture(scope="session")
def planted_frame():
    return planted_domains(seed=0)


@pytest.fixture(scope="session")
def planted3_frame():
    """Three domains with the same planted groups; item ids b*, m* and g* never collide."""
    return planted_domains(num_users=300, items_per_domain=(48, 40, 32),
                           domains=("books", "movies", "games"), seed=1)


@pytest.fixture()
def planted_csv(tmp_path, planted_frame):
    """The planted dataset as a user's own interactions CSV."""
    path = tmp_path / "interactions.csv"
    planted_frame.to_csv(path, index=False)
    return path


@pytest.fixture()
def small_overlap_csv(tmp_path):
    """Five users as an interactions CSV: u0-u3 rate two books and two records, u4 two
    books only (counts small enough to check by hand)."""
    import pandas as pd

    rows = [(f"u{u}", f"{domain[0]}{i}", domain, 10 * u + i)
            for u in range(5) for domain in ("books", "music") for i in range(2)
            if not (u == 4 and domain == "music")]
    path = tmp_path / "interactions.csv"
    pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp"]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def planted(planted_frame):
    """The click-translation task and its prepared data on the planted dataset (seed 0),
    built as ``tfxdr train`` builds them: split, feature spec from the training rows,
    prepared click bags."""
    raw = RawDataset("planted", planted_frame, None, None, {"path": "planted"})
    task = ClickTranslationTask()
    interactions = task.restrict(select_domains(raw, ("books", "movies")))
    split = make_split(interactions, dataclasses.replace(task.default_split, seed=0))
    spec = task.feature_spec(interactions, split, None)
    return task, task.prepare(split, spec, None)


@pytest.fixture()
def ctr_csv(tmp_path):
    from ctr_data import write_item_effect_csv

    return write_item_effect_csv(tmp_path / "clicks.csv")


@pytest.fixture()
def taste_csv(tmp_path):
    from ctr_data import write_taste_csv

    return write_taste_csv(tmp_path / "taste.csv")


def pytest_collection_modifyitems(config, items):
    """The fast tests run first, the integration tests on real MovieLens data last."""
    items.sort(key=lambda item: item.get_closest_marker("integration") is not None)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A SavedModel: ``score`` (also ``serving_default``) over an int64 and a string
    input with two outputs, and ``total`` with one of each."""
    import tensorflow as tf

    class Tiny(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec(None, tf.int64, name="items"),
                                      tf.TensorSpec(None, tf.string, name="domain")])
        def score(self, items, domain):
            items = tf.ensure_shape(items, [None, None])
            return {"total": tf.reduce_sum(items, axis=1),
                    "domain": tf.strings.upper(tf.ensure_shape(domain, [None]))}

        @tf.function(input_signature=[tf.TensorSpec(None, tf.int64, name="items")])
        def total(self, items):
            return {"total": tf.reduce_sum(tf.ensure_shape(items, [None, None]), axis=1)}

    path = tmp_path_factory.mktemp("tiny") / "1"
    module = Tiny()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.score,
                                                       "score": module.score,
                                                       "total": module.total})
    return path


@pytest.fixture()
def tiny_models(tiny_model, tmp_path):
    """``{"tiny": ServedModel}`` with versions 1 and 2 of the tiny model, both
    loaded, label ``stable`` on 1."""
    import shutil

    from tfxdr_serving.registry import ServedModel

    for version in ("1", "2"):
        shutil.copytree(tiny_model, tmp_path / "tiny" / version)
    return {"tiny": ServedModel("tiny", tmp_path / "tiny", specific=[1, 2],
                                labels={"stable": 1})}
