"""Planted two-domain click files for the CTR tests (movies = source, books = target)."""

import numpy as np
import pandas as pd

COLUMNS = ["user_id", "item_id", "domain", "timestamp", "label"]


def write_item_effect_csv(path):
    """A click is likely exactly on the 'good' (even) half of each domain's items."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(300):
        clock = 1_000_000 + user * 500_000
        for _ in range(12):  # the domains alternate, so both have events in the last day
            for domain, prefix in (("movies", "m"), ("books", "b")):
                item = int(rng.integers(0, 40))
                label = int(rng.random() < (0.85 if item % 2 == 0 else 0.15))
                clock += int(rng.integers(600, 30_000))
                rows.append((f"u{user}", f"{prefix}{item}", domain, clock, label))
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return path


def write_taste_csv(path):
    """Clicks depend on a hidden user taste: group g likes items whose number % 2 == g.

    No field of a single instance carries the taste; only the user's clicks in
    the other domain reveal it, so a model must read the histories to rank a
    cold target-domain user's candidates.
    """
    rng = np.random.default_rng(1)
    rows = []
    for user in range(400):
        taste = user % 2
        clock = 1_000_000 + user * 900_000
        for _ in range(15):
            for domain, prefix in (("movies", "m"), ("books", "b")):
                item = int(rng.integers(0, 40))
                label = int(rng.random() < (0.9 if item % 2 == taste else 0.1))
                clock += int(rng.integers(600, 20_000))
                rows.append((f"u{user}", f"{prefix}{item}", domain, clock, label))
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return path


def prepare_ctr(path, seed=0, config=None):
    """(CtrTask, CtrData) of a planted file: movies = source, books = target; ``config``
    selects training rows as ``tfxdr train`` does."""
    from tfxdr.data import SplitSpec, Vocabularies, load_dataset, make_split, select_domains
    from tfxdr.tasks import CtrTask

    interactions = select_domains(load_dataset(path), ("movies", "books"))
    split = make_split(interactions, SplitSpec(kind="cold_start", seed=seed))
    task = CtrTask()
    if config is not None:
        split = task.select_training_rows(split, interactions.domains, config, seed)
    vocabs = Vocabularies.build(split, interactions.domains)
    return task, task.prepare(split, vocabs, interactions.domains, interactions)


def write_user_table(path, users=400):
    """A user table with a continuous column (age: many numeric values), some missing."""
    rng = np.random.default_rng(2)
    ages = rng.integers(15, 70, users).astype(object)
    ages[::17] = ""  # missing ages bucket to the unknown row
    pd.DataFrame({"user_id": [f"u{u}" for u in range(users)], "age": ages,
                  "gender": rng.choice(["F", "M"], users)}).to_csv(path, index=False)
    return path
