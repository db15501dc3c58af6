"""Nearest-neighbour retrieval over item vectors with faiss (the ``ann`` extra).

A matching model scores a domain's items by inner product with the user's
vector (``user_embedding_<domain>`` in its export), so retrieval is a maximum
inner-product search over the item table.  The exported ``retrieve_<domain>``
does it by brute force in the graph; :class:`ItemIndex` does it with a faiss
index outside it: ``flat`` (exact), ``hnsw`` (a graph, sub-linear) or ``ivf``
(clusters, ``nprobe`` of them searched).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

KINDS = ("flat", "hnsw", "ivf")


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("faiss is not installed: pip install 'tfxdr[ann]'") from None
    return faiss


class ItemIndex:
    """A faiss index of one domain's item vectors, searched by inner product.

    Args:
        ids: the items' raw ids, in the rows' order.
        vectors: [num_items, d] their vectors.
        kind: ``flat``, ``hnsw`` or ``ivf``.
        hnsw_m, ef_construction, ef_search: the HNSW graph's degree and its
            build and search breadth.  ``ef_search`` 1024 keeps recall@200
            against exact search at 0.98 with 1M spread-out items and a p99 under
            5 ms per query on 2 cores (docs/results/aft_ml1m.md); 512 halves the
            time at 0.93.
        nlist, nprobe: IVF's clusters (default 4 sqrt(num_items), at most one per
            39 items) and how many a search visits.
    """

    def __init__(self, ids: Sequence, vectors: np.ndarray, kind: str = "flat",
                 hnsw_m: int = 32, ef_construction: int = 200, ef_search: int = 1024,
                 nlist: int | None = None, nprobe: int = 16):
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r} is invalid: expected one of {', '.join(KINDS)}")
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise ValueError(f"vectors of shape {vectors.shape} do not match {len(ids)} ids: "
                             "expected [num_items, d]")
        self.ids = np.asarray(ids)
        self.kind = kind
        dim = vectors.shape[1]
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
        else:
            # faiss trains each centroid on at least 39 points.
            nlist = nlist or max(1, min(int(4 * np.sqrt(len(vectors))), len(vectors) // 39))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist,
                                       faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
            index.nprobe = nprobe
        index.add(vectors)
        self.index = index

    @classmethod
    def from_export(cls, export_dir, domain: str, kind: str = "flat", **options) -> "ItemIndex":
        """The index of ``domain``'s item vectors that an export wrote beside its graph."""
        from tfxdr.errors import RunDirError
        from tfxdr.export.common import ASSETS_EXTRA
        from tfxdr.export.matching import item_embeddings_file

        path = Path(export_dir) / ASSETS_EXTRA / item_embeddings_file(domain)
        if not path.is_file():
            raise RunDirError(f"{path}: missing; only a matching model's export has item "
                              "vectors", field="domain")
        with np.load(path, allow_pickle=False) as saved:
            ids, vectors = saved["ids"], saved["embeddings"]
        return cls(ids.astype(object), vectors, kind, **options)

    def search(self, queries: np.ndarray, k: int,
               exclude: Sequence[Sequence] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items of largest inner product with each query row, best first:
        ``(ids [B, k], scores [B, k])``.  ``exclude[b]`` lists raw ids never to return
        to row b (the user's own items); fewer than ``k`` are left only where the
        index finds too few (an ``ivf`` search's clusters), padded with id -1 /
        score -inf."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        exclude = [set(row) for row in exclude] if exclude is not None else \
            [set()] * len(queries)
        depth = min(len(self.ids), k + max((len(row) for row in exclude), default=0))
        scores, rows = self.index.search(queries, depth)
        out_ids = np.full((len(queries), k), -1, dtype=object)
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for b in range(len(queries)):
            kept = [(self.ids[r], s) for r, s in zip(rows[b], scores[b])
                    if r >= 0 and self.ids[r] not in exclude[b]][:k]
            for j, (item, score) in enumerate(kept):
                out_ids[b, j], out_scores[b, j] = item, score
        return out_ids, out_scores
