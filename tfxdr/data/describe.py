"""Dataset statistics per domain (the shape of D2D-TM's Table 1) and the user overlap
of every pair of domains."""

from __future__ import annotations

import itertools

import pandas as pd

from tfxdr.data.domains import Interactions


def describe(interactions: Interactions) -> dict:
    """Counts and density per domain, for all users and for users in every domain."""
    frame = interactions.frame
    per_domain_users = {d: set(interactions.domain_frame(d)["user_id"]) for d in interactions.domains}
    overlap = set.intersection(*per_domain_users.values())
    report = {"dataset": interactions.dataset, "domains": {}, "overlap_users": len(overlap),
              "all_users": int(frame["user_id"].nunique()),
              "pairwise_overlap": {f"{a}&{b}": len(per_domain_users[a] & per_domain_users[b])
                                   for a, b in itertools.combinations(interactions.domains, 2)}}
    for domain in interactions.domains:
        report["domains"][domain] = _stats(interactions.domain_frame(domain))
    in_overlap = frame[frame["user_id"].isin(overlap)]
    report["overlap"] = {d: _stats(in_overlap[in_overlap["domain"] == d])
                         for d in interactions.domains}
    return report


def _stats(frame: pd.DataFrame) -> dict:
    users = int(frame["user_id"].nunique())
    items = int(frame["item_id"].nunique())
    pairs = int(len(frame[["user_id", "item_id"]].drop_duplicates()))
    density = pairs / (users * items) if users and items else 0.0
    return {"users": users, "items": items, "interactions": int(len(frame)),
            "density_percent": round(100 * density, 3)}


def format_description(report: dict) -> str:
    """A plain-text table of :func:`describe`'s report."""
    lines = [f"dataset {report['dataset']}: {report['all_users']} users, "
             f"{report['overlap_users']} with interactions in every domain"]
    header = f"{'':<10} {'domain':<16} {'users':>7} {'items':>7} {'interactions':>13} {'density%':>9}"
    lines.append(header)
    for scope, key in (("all users", "domains"), ("overlap", "overlap")):
        for domain, stats in report[key].items():
            lines.append(
                f"{scope:<10} {domain:<16} {stats['users']:>7} {stats['items']:>7} "
                f"{stats['interactions']:>13} {stats['density_percent']:>9.3f}"
            )
    lines.append("users in both domains of each pair:")
    lines += [f"  {pair.replace('&', ' & ')}: {count}"
              for pair, count in report["pairwise_overlap"].items()]
    return "\n".join(lines)
