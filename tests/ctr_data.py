"""Planted click files for the CTR tests (movies = source, books = target) and their
preparation as ``tfxdr train`` does it: split, training rows, feature spec, instances."""

import numpy as np
import pandas as pd

COLUMNS = ["user_id", "item_id", "domain", "timestamp", "label"]
TASTE_DOMAINS = (("movies", "m"), ("books", "b"))
#: The taste data's click probability when the item's parity matches the user's taste, and
#: when it does not.
TASTE_CLICK = (0.9, 0.1)


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


def write_taste_csv(path, domains=TASTE_DOMAINS, users=400, seed=1):
    """Clicks depend on a hidden user taste: group g likes items whose number % 2 == g.

    No field of a single instance carries the taste; only the user's clicks in
    the other domains reveal it, so a model must read the histories to rank a
    cold target-domain user's candidates.  ``domains`` are (name, item prefix)
    pairs, the target last.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        taste = user % 2
        clock = 1_000_000 + user * 900_000
        for _ in range(15):
            for domain, prefix in domains:
                item = int(rng.integers(0, 40))
                label = int(rng.random() < TASTE_CLICK[item % 2 != taste])
                clock += int(rng.integers(600, 20_000))
                rows.append((f"u{user}", f"{prefix}{item}", domain, clock, label))
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return path


def write_three_domain_taste_csv(path):
    """The taste data over three domains: movies and music are sources, books the target."""
    return write_taste_csv(path, (("movies", "m"), ("music", "s"), ("books", "b")), users=300)


def planted_taste(user_ids, item_ids):
    """Whether each (user, item) pair matches the planted taste (the Bayes-optimal score)."""
    users = np.array([int(u[1:]) for u in user_ids])
    items = np.array([int(i[1:]) for i in item_ids])
    return (items % 2 == users % 2).astype(float)


def prepare_ctr(path, seed=0, config=None, domains=("movies", "books"), user_features=None):
    """(CtrTask, CtrData) of a planted file, built as ``tfxdr train`` builds them: the
    cold-start split (the last domain is the target), the training rows ``config``
    selects, the feature spec from those rows only (``data.spec``), the instances."""
    from tfxdr.config import CtrTrainConfig
    from tfxdr.data import SplitSpec, load_dataset, make_split, select_domains
    from tfxdr.tasks import CtrTask

    config = config if config is not None else CtrTrainConfig()
    interactions = select_domains(load_dataset(path, user_features), domains)
    task = CtrTask()
    split = make_split(interactions, SplitSpec(kind="cold_start", seed=seed))
    split = task.select_training_rows(split, interactions.domains, config, seed)
    spec = task.feature_spec(interactions, split, config)
    return task, task.prepare(split, spec, config)


def write_user_table(path, users=400):
    """A user table with a continuous column (age: many numeric values), some missing."""
    rng = np.random.default_rng(2)
    ages = rng.integers(15, 70, users).astype(object)
    ages[::17] = ""  # missing ages bucket to the missing index
    pd.DataFrame({"user_id": [f"u{u}" for u in range(users)], "age": ages,
                  "gender": rng.choice(["F", "M"], users)}).to_csv(path, index=False)
    return path
