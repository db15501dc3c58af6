"""Small synthetic interactions with planted cross-domain structure.

Users belong to latent groups; each group prefers its own block of items in
every domain.  A model that transfers the group from a user's clicks in one
domain to the other ranks that block first; popularity cannot, because the
blocks are equally popular.  Used by tests and examples to check that models
learn, not only that they run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def planted_domains(
    num_users: int = 600,
    items_per_domain: tuple[int, ...] = (60, 40),
    num_groups: int = 4,
    clicks_per_domain: int = 8,
    noise: float = 0.1,
    domains: tuple[str, ...] = ("books", "movies"),
    seed: int = 0,
) -> pd.DataFrame:
    """Interactions ``user_id,item_id,domain,timestamp,rating``.

    Args:
        num_users: users, assigned round-robin to groups.
        items_per_domain: items of each domain (one count per domain), split into
            ``num_groups`` blocks.
        num_groups: latent groups.
        clicks_per_domain: distinct items each user clicks per domain.
        noise: share of a user's clicks drawn uniformly from the whole domain.
        domains: the domain names (any number); an item id is the domain's first
            letter and a number, so names must start with different letters.
        seed: NumPy seed; the same seed gives the same frame.
    """
    if len({d[0] for d in domains}) != len(domains):
        raise ValueError(f"domains {domains} must start with different letters: item ids "
                         "are the first letter and a number")
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(num_users):
        group = user % num_groups
        clock = 1_000_000 + user * 10_000
        for domain, num_items in zip(domains, items_per_domain):
            block = np.array_split(np.arange(num_items), num_groups)[group]
            num_noisy = int(rng.binomial(clicks_per_domain, noise))
            focused = rng.choice(block, size=min(len(block), clicks_per_domain - num_noisy),
                                 replace=False)
            others = np.setdiff1d(np.arange(num_items), focused)
            noisy = rng.choice(others, size=num_noisy, replace=False)
            for item in rng.permutation(np.concatenate([focused, noisy])):
                clock += int(rng.integers(1, 100))
                rows.append((f"u{user}", f"{domain[0]}{item}", domain, clock,
                             float(rng.integers(1, 6))))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp", "rating"])


def planted_sequences(
    num_users: int = 400,
    items_per_domain: tuple[int, ...] = (40, 30),
    lengths: tuple[int, ...] = (8, 4),
    num_groups: int = 4,
    domains: tuple[str, ...] = ("books", "movies"),
    seed: int = 0,
) -> pd.DataFrame:
    """Interactions ``user_id,item_id,domain,timestamp`` whose ORDER is planted.

    Each domain's items are split into ``num_groups`` blocks; a user of group g
    walks block g of every domain in order, from a random start, one step per
    interaction, wrapping around: the next item is always the block's successor
    of the last one.  A sequential model learns the successor; popularity
    cannot (every item is equally popular in expectation).

    Args:
        lengths: interactions per user in each domain.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(num_users):
        group = user % num_groups
        clock = 1_000_000 + user * 10_000
        for domain, num_items, length in zip(domains, items_per_domain, lengths):
            block = np.array_split(np.arange(num_items), num_groups)[group]
            start = int(rng.integers(len(block)))
            for step in range(length):
                clock += int(rng.integers(1, 100))
                rows.append((f"u{user}", f"{domain[0]}{block[(start + step) % len(block)]}",
                             domain, clock))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp"])


def planted_matching(
    num_users: int = 80,
    domains: tuple[str, ...] = ("books", "games", "music"),
    num_groups: int = 4,
    block: int = 10,
    clicks: int = 6,
    seed: int = 0,
) -> pd.DataFrame:
    """Interactions ``user_id,item_id,domain,timestamp`` whose GROUPS are planted.

    User u belongs to group u % ``num_groups`` and clicks ``clicks`` distinct items
    of its group's block of ``block`` items in every domain, the clicks of all
    domains in a random order of time: a user's later clicks in any domain are
    predictable from the earlier ones of every domain (the block), not from
    popularity (every item is equally popular in expectation).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(num_users):
        group = user % num_groups
        picks = [(d, f"{d[0]}{group * block + i}") for d in domains
                 for i in rng.choice(block, clicks, replace=False)]
        for time, (domain, item) in zip(rng.permutation(len(picks)), picks):
            rows.append((f"u{user}", item, domain, int(time)))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "domain", "timestamp"])
