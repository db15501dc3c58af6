"""Serving module of the matching models (AFT and its baselines): retrieval per domain.

Every signature takes the user's recent items of EVERY domain, ``items_<domain>``
([B, T] raw ids, oldest first, padded with -1 or "" anywhere; the last
``max_len`` are read, as in training), one row per user in each:

- ``retrieve_<domain>`` returns ``top_k_ids`` and ``top_k_scores`` [B, k]: the
  domain's items by inner product with the user's vector for that domain, the
  request's own items of the domain never among them (padding, -1 or "" with
  score -inf, where too few are left).  This is brute-force
  retrieval in the graph (a matrix product and a top-k), exact at any catalogue
  size that fits in memory;
- ``user_embedding_<domain>`` returns ``embedding`` [B, d], the user vector that
  retrieval scores with, for an external nearest-neighbour index over the items'
  vectors, which the export writes beside the graph:
  ``assets.extra/item_embeddings_<domain>.npz`` (``ids``, the raw ids, and
  ``embeddings`` [num_items, d]; see :class:`tfxdr.retrieval.ItemIndex`).

Only the inference path is traced: AFT's generator and every sampling op stay
out of the serving graph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from tfxdr.export.common import ServingModule, checked, raw_dtype, raw_values
from tfxdr.export.sequences import top_items
from tfxdr.export.warmup import raw_ids
from tfxdr.features import domain_slug, items_input
from tfxdr.layers.preprocessing import most_recent, raw_strings
from tfxdr.ops import exclude_positions


class MatchingServing(ServingModule):
    """``retrieve_<domain>`` and (for a model with user vectors) ``user_embedding_<domain>``
    for every domain."""

    def __init__(self, model, top_k: int):
        super().__init__(model)
        spec = model.spec
        self.names = [items_input(d) for d in spec.domains]
        signature = [tf.TensorSpec(None, raw_dtype(spec[name]), name=name) for name in self.names]
        self.functions = {}
        for k, domain in enumerate(spec.domains):
            feature = spec[self.names[k]]
            slug = domain_slug(domain)
            self.functions[f"retrieve_{slug}"] = tf.function(
                self._retrieve(k, raw_values(feature), min(top_k, len(feature.vocabulary))),
                input_signature=signature)
            if hasattr(model, "user_vector"):  # popularity has none
                self.functions[f"user_embedding_{slug}"] = tf.function(
                    self._embedding(k), input_signature=signature)
        for name, function in self.functions.items():
            setattr(self, name, function)
        self.keep_variables_of(*self.functions.values())

    def _request(self, item_ids):
        """Each input checked (rank 2, as many rows as the first), and the last
        ``max_len`` known-or-unknown ids of each, as the model reads them."""
        first = checked(self.names[0], item_ids[0], 2)
        rows = tf.shape(first)[0]
        raw = [first] + [checked(name, ids, 2, rows, f"row of {self.names[0]}")
                         for name, ids in zip(self.names[1:], item_ids[1:])]
        return raw, {name: most_recent(raw_strings(ids), self.model.config.max_len)
                     for name, ids in zip(self.names, raw)}

    def _retrieve(self, domain: int, item_ids_of_domain, k: int):
        def retrieve(*item_ids):
            raw, request = self._request(item_ids)
            scores = tf.cast(self.model.score_next(request, domain), tf.float32)
            own = self.model.item_positions(self.preprocessor.lookup(
                self.names[domain], raw_strings(raw[domain])))
            return top_items(exclude_positions(scores, own), item_ids_of_domain, k)

        return retrieve

    def _embedding(self, domain: int):
        def embedding(*item_ids):
            _, request = self._request(item_ids)
            return {"embedding": tf.cast(self.model.user_vector(request, domain), tf.float32)}

        return embedding

    def write_assets_extra(self, directory: Path) -> None:
        """Each domain's item ids and vectors, for an index outside the graph."""
        if not hasattr(self.model, "item_matrix"):
            return
        directory.mkdir(parents=True, exist_ok=True)
        for k, domain in enumerate(self.model.spec.domains):
            feature = self.model.spec[self.names[k]]
            ids = (np.array([int(v) for v in feature.vocabulary], dtype=np.int64)
                   if feature.dtype == "int64" else np.array(feature.vocabulary, dtype=str))
            np.savez(directory / item_embeddings_file(domain), ids=ids,
                     embeddings=np.asarray(self.model.item_matrix(k), dtype=np.float32))

    def warmup_requests(self, histories: dict, sizes: tuple[int, ...] = (1, 8)) -> list:
        """Each signature called with the first 1 and 8 rows of ``histories`` (every
        domain's raw ids, "" padding), typed as its inputs."""
        dtypes = {name: raw_dtype(self.model.spec[name]) for name in self.names}
        requests = []
        for signature in self.signatures():
            for size in sizes:
                requests.append((signature, {
                    name: raw_ids(histories[domain][:size], dtypes[name])
                    for name, domain in zip(self.names, self.model.spec.domains)}))
        return requests

    def signatures(self) -> dict:
        """Every signature, and ``serving_default``: retrieval in the last domain."""
        last = f"retrieve_{domain_slug(self.model.spec.domains[-1])}"
        return {**self.functions, "serving_default": self.functions[last]}


def item_embeddings_file(domain: str) -> str:
    """The name of a domain's item vectors in an export's ``assets.extra``."""
    return f"item_embeddings_{domain_slug(domain)}.npz"
