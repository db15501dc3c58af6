"""What AFT's negatives are: how often each kind is an item the user clicks later.

    python benchmarks/aft_fakes.py RUN_DIR [RUN_DIR ...] [--part test]

For each finished ``aft`` run (any ablation) and each domain, the users of the
held-out part are given as requests (their clicks before it, every domain),
and four sets of k = ``num_fakes`` items, the user's earlier clicks of the domain excluded,
are compared with the clicks the user makes in the part:

- ``generator``: the generator's top-k by h_t . e (the fakes L_D is trained to
  reject; a run without a generator has none);
- ``discriminator``: the discriminator's own top-k by u_t . e (what hard
  negative mining rejects, and what serving recommends);
- ``popular``: the k most clicked training items;
- ``random``: the expected share for k uniform unclicked items.

Prints per domain the share of those items that are later clicks (precision@k
against the part) and the overlap of the generator's set with the
discriminator's.  A negative that the user goes on to click teaches the
discriminator to rank that click low.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfxdr.experiment import load_run
from tfxdr.tasks.sequences import positions_of

KINDS = ("generator", "discriminator", "popular", "random")


def later_click_shares(run, part: str, batch: int = 512) -> dict[str, dict]:
    """Per domain: each kind's share of later clicks among its k = ``num_fakes``
    items, and the share of the generator's items the discriminator also picks."""
    model, data, k = run.model, run.prepared, run.model.config.num_fakes
    out = {}
    for t, domain in enumerate(data.domains):
        held = data.scoring_set(part, domain)
        items = model.item_matrix(t)
        clicks = data.train[data.train["domain"] == domain]["item_id"].astype(str)
        popular = positions_of(run.spec, domain)(clicks.value_counts().index)
        shares = {kind: [] for kind in KINDS}
        overlap = []
        for start in range(0, len(held.users), batch):
            rows = held.order[start:start + batch]
            inputs = held.requests(rows)
            seen = tf.ragged.constant([list(r) for r in held.seen_positions[rows]],
                                      dtype=tf.int64).to_tensor(-1)
            chosen = {"discriminator": model.top_unclicked(model.user_vector(inputs, t),
                                                           items, seen).numpy()}
            if model.config.uses_generator:
                chosen["generator"] = model.fakes(model.generator_user(inputs, t), t,
                                                  seen).numpy()
            for i, row in enumerate(rows):
                earlier = set(held.seen_positions[row].tolist())
                later = set(held.targets[row][held.targets[row] >= 0].tolist()) - earlier
                picks = {**{kind: set(p[i].tolist()) for kind, p in chosen.items()},
                         "popular": set([p for p in popular if p not in earlier][:k])}
                for kind, chosen_items in picks.items():
                    shares[kind].append(len(later & chosen_items) / k)
                shares["random"].append(len(later) / max(items.shape[0] - len(earlier), 1))
                if "generator" in picks:
                    overlap.append(len(picks["generator"] & picks["discriminator"]) / k)
        out[domain] = {kind: float(np.mean(v)) if v else float("nan")
                       for kind, v in shares.items()}
        out[domain]["overlap"] = float(np.mean(overlap)) if overlap else float("nan")
        out[domain]["users"] = len(held.users)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--part", choices=("val", "test"), default="test")
    args = parser.parse_args(argv)
    runs = [load_run(run_dir) for run_dir in args.runs]
    for run_dir, run in zip(args.runs, runs):
        if run.saved["model"] != "aft":
            parser.error(f"{run_dir}: an {run.saved['model']} run; expected aft")
    print("| run | domain | users | " + " | ".join(KINDS) + " | generator in discriminator's |")
    print("|---|---|---|" + "---|" * (len(KINDS) + 1))
    for run_dir, run in zip(args.runs, runs):
        for domain, row in later_click_shares(run, args.part).items():
            cells = [f"{row[kind]:.4f}" for kind in (*KINDS, "overlap")]
            print(f"| {run_dir} | {domain} | {row['users']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
