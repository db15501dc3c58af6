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


def catalogue_scale(
    num_users: int = 9_900,
    items_per_domain: tuple[int, ...] = (30_800, 39_000),
    clicks_per_domain: float = 10.0,
    popularity_exponent: float = 0.5,
    num_groups: int = 20,
    noise: float = 0.3,
    domains: tuple[str, ...] = ("books", "movies"),
    seed: int = 0,
    noise_rating: float = 5.0,
) -> pd.DataFrame:
    """Interactions ``user_id,item_id,domain,timestamp,rating`` shaped like an Amazon
    cross-domain pair: tens of thousands of items per domain, about ten clicks per
    user and domain, and power-law item popularity, with the groups of
    :func:`planted_domains` planted so that quality stays measurable.

    Each item gets a popularity (rank)^-``popularity_exponent``, its rank drawn at
    random, so every group's block holds popular and rare items alike.  A user of
    group g draws, in every domain, 1 + Poisson(``clicks_per_domain`` - 1) clicks
    by popularity: each from g's block, or with probability ``noise`` from the whole
    domain; repeated draws count once.  Built with array operations, one pass per
    group and domain, so a million clicks take seconds.

    Args: as :func:`planted_domains`, and ``popularity_exponent`` (0: uniform; at
        the default 0.5, 90% of these catalogues is clicked at least once);
        ``noise_rating``: the rating of the draws from the whole domain (the
        others are rated 5), so that with e.g. 1 a rating >= 4 says whether the
        item came from the user's block: a CTR label with planted signal.
    """
    if len({d[0] for d in domains}) != len(domains):
        raise ValueError(f"domains {domains} must start with different letters: item ids "
                         "are the first letter and a number")
    rng = np.random.default_rng(seed)
    users = np.arange(num_users)
    groups = users % num_groups
    frames = []
    for domain, num_items in zip(domains, items_per_domain):
        popularity = rng.permutation(np.arange(1, num_items + 1) ** -float(popularity_exponent))
        counts = 1 + rng.poisson(max(clicks_per_domain - 1.0, 0.0), size=num_users)
        owner = np.repeat(users, counts)
        from_block = rng.random(len(owner)) >= noise
        items = _draw(rng, popularity, np.arange(num_items), int((~from_block).sum()))
        picked = np.empty(len(owner), dtype=np.int64)
        picked[~from_block] = items
        for group, block in enumerate(np.array_split(np.arange(num_items), num_groups)):
            chosen = from_block & (groups[owner] == group)
            picked[chosen] = _draw(rng, popularity[block], block, int(chosen.sum()))
        frames.append(pd.DataFrame({"user": owner, "item": picked, "domain": domain,
                                    "letter": domain[0],
                                    "rating": np.where(from_block, 5.0, noise_rating)}))
    frame = pd.concat(frames, ignore_index=True).drop_duplicates(["user", "domain", "item"])
    frame = frame.iloc[rng.permutation(len(frame))].sort_values("user", kind="stable")
    steps = rng.integers(1, 100, size=len(frame))
    clock = 1_000_000 + frame["user"].to_numpy() * 10_000 + \
        pd.Series(steps).groupby(frame["user"].to_numpy()).cumsum().to_numpy()
    return pd.DataFrame({"user_id": "u" + frame["user"].astype(str).to_numpy(),
                         "item_id": (frame["letter"] + frame["item"].astype(str)).to_numpy(),
                         "domain": frame["domain"].to_numpy(), "timestamp": clock,
                         "rating": frame["rating"].to_numpy()})


def _draw(rng: np.random.Generator, weights: np.ndarray, values: np.ndarray,
          size: int) -> np.ndarray:
    """``size`` draws of ``values`` with probability proportional to ``weights``."""
    cumulative = np.cumsum(weights)
    positions = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    return values[np.minimum(positions, len(values) - 1)]
