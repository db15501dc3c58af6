"""How often a faiss index of an export's item vectors retrieves what its graph does.

    tfxdr export RUN
    python benchmarks/retrieval_agreement.py RUN [--version N] [--part test] [--k 200]

For every domain of a finished matching run, the users of the held-out part
are sent to the export as requests (their clicks before the part, every
domain): ``retrieve_<domain>`` gives the in-graph top k, ``user_embedding_<domain>``
the user vectors, and a ``flat``, ``hnsw`` and ``ivf`` index of the exported
item vectors (:class:`tfxdr.retrieval.ItemIndex`, the request's own items of
the domain excluded) their top k.  Prints per domain and index the mean and
the lowest share of the graph's items the index also returns.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfxdr.experiment import load_run  # noqa: E402
from tfxdr.data.sequences import PAD  # noqa: E402
from tfxdr.export.common import EXPORT_DIR, next_version  # noqa: E402
from tfxdr.export.warmup import raw_ids  # noqa: E402
from tfxdr.features import domain_slug, items_input  # noqa: E402
from tfxdr.retrieval import KINDS, ItemIndex  # noqa: E402


def agreement(run_dir: Path, export_dir: Path, part: str, k: int, batch: int = 512) -> list:
    """Rows of (domain, index kind, users, mean share, lowest share)."""
    run = load_run(run_dir)
    served = tf.saved_model.load(str(export_dir))
    out = []
    for domain in run.domains:
        held = run.prepared.scoring_set(part, domain)
        retrieve = served.signatures[f"retrieve_{domain_slug(domain)}"]
        embed = served.signatures[f"user_embedding_{domain_slug(domain)}"]
        dtypes = {name: spec.dtype for name, spec in
                  retrieve.structured_input_signature[1].items()}
        graph, users = [], []
        for start in range(0, len(held.users), batch):
            rows = np.arange(start, min(start + batch, len(held.users)))
            request = {items_input(d): tf.constant(raw_ids(h[rows], dtypes[items_input(d)]))
                       for d, h in held.histories.items()}
            graph.append(retrieve(**request)["top_k_ids"].numpy())
            users.append(embed(**request)["embedding"].numpy())
        graph, users = np.concatenate(graph), np.concatenate(users)
        depth = min(k, graph.shape[1])
        own_dtype = dtypes[items_input(domain)]
        own = [[int(i) if own_dtype == tf.int64 else i for i in row if i != PAD]
               for row in held.histories[domain]]
        for kind in KINDS:
            index = ItemIndex.from_export(export_dir, domain, kind)
            found, _ = index.search(users, depth, exclude=own)
            shares = []
            for f, g in zip(found, graph[:, :depth]):
                wanted = {i for i in g.tolist() if i not in (-1, b"")}
                got = {i.encode() if isinstance(i, str) else i for i in f.tolist()}
                shares.append(len(wanted & got) / max(len(wanted), 1))
            out.append((domain, kind, len(users), float(np.mean(shares)),
                        float(np.min(shares))))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--version", type=int, help="export version (default: the latest)")
    parser.add_argument("--part", choices=("val", "test"), default="test")
    parser.add_argument("--k", type=int, default=200)
    args = parser.parse_args(argv)
    version = args.version or next_version(args.run / EXPORT_DIR) - 1
    export_dir = args.run / EXPORT_DIR / str(version)
    if not export_dir.is_dir():
        parser.error(f"{export_dir}: no such export; run `tfxdr export {args.run}` first")
    print(f"| domain | index | users | mean share of the graph's top {args.k} | lowest |")
    print("|---|---|---|---|---|")
    for domain, kind, users, mean, low in agreement(args.run, export_dir, args.part, args.k):
        print(f"| {domain} | {kind} | {users} | {mean:.4f} | {low:.4f} |")


if __name__ == "__main__":
    main()
