"""Shared fixtures: quiet TensorFlow, a synthetic two-domain dataset on disk."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tfxdr.data import SplitSpec, Vocabularies, make_split, select_domains  # noqa: E402
from tfxdr.data.synthetic import planted_domains  # noqa: E402
from tfxdr.data.table import RawDataset  # noqa: E402
from tfxdr.tasks import ClickTranslationTask  # noqa: E402


@pytest.fixture(scope="session")
def planted_frame():
    return planted_domains(seed=0)


@pytest.fixture()
def planted_csv(tmp_path, planted_frame):
    """The planted dataset as a user's own interactions CSV."""
    path = tmp_path / "interactions.csv"
    planted_frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def planted(planted_frame):
    """The click-translation task and its prepared data on the planted dataset (seed 0)."""
    raw = RawDataset("planted", planted_frame, None, None, {"path": "planted"})
    task = ClickTranslationTask()
    interactions = task.restrict(select_domains(raw, ("books", "movies")))
    split = make_split(interactions, SplitSpec(seed=0))
    vocabs = Vocabularies.build(split, interactions.domains)
    return task, task.prepare(split, vocabs, interactions.domains)


@pytest.fixture()
def ctr_csv(tmp_path):
    from ctr_data import write_item_effect_csv

    return write_item_effect_csv(tmp_path / "clicks.csv")


@pytest.fixture()
def taste_csv(tmp_path):
    from ctr_data import write_taste_csv

    return write_taste_csv(tmp_path / "taste.csv")
