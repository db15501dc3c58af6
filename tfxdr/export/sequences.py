"""Serving module of the next-item models (RecGURU, SASRec and the sequence baselines).

Only the inference path is traced: the critic, the reconstruction decoders and
every sampling op stay out of the serving graph.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfxdr.export.common import ServingModule, checked, raw_dtype, raw_values
from tfxdr.export.warmup import raw_ids
from tfxdr.features import domain_slug, items_input
from tfxdr.layers.preprocessing import most_recent, raw_strings
from tfxdr.ops import exclude_positions


class SequenceServing(ServingModule):
    """``next_item_<domain>`` per domain, and ``user_representation`` where the model
    has one.

    ``next_item_<domain>`` takes ``item_ids`` [B, T]: the user's recent items in that
    domain, oldest first, raw ids (int64 when every item id of the data is an
    integer, else string) padded with -1 or "" anywhere; the last ``max_len`` are
    read, as in training.  It returns ``top_k_ids`` and ``top_k_scores`` [B, k]:
    the domain's items best scored as the next one, the request's own items
    never among them (padding, -1 or "" with score -inf, where too few are left).

    ``user_representation`` takes ``item_ids`` [B, T] and ``domain`` [B] (a domain
    name per row: the domain those items are from) and returns ``representation``
    [B, d], the user's GUR.  Ids training never saw are read as unknown items;
    an unknown domain name fails, naming the domains.
    """

    def __init__(self, model, top_k: int):
        super().__init__(model)
        spec = model.spec
        self.functions = {}
        for k, domain in enumerate(spec.domains):
            feature = spec[items_input(domain)]
            function = tf.function(
                self._next_item(k, raw_values(feature), min(top_k, len(feature.vocabulary))),
                input_signature=[tf.TensorSpec(None, raw_dtype(feature), name="item_ids")])
            self.functions[f"next_item_{domain_slug(domain)}"] = function
        if hasattr(model, "user_representation") and model.encoders:
            dtypes = {raw_dtype(spec[items_input(d)]) for d in spec.domains}
            self.functions["user_representation"] = tf.function(self._representation, [
                tf.TensorSpec(None, dtypes.pop() if len(dtypes) == 1 else tf.string,
                              name="item_ids"),
                tf.TensorSpec(None, tf.string, name="domain")])
        for name, function in self.functions.items():
            setattr(self, name, function)
        self.keep_variables_of(*self.functions.values())

    def _recent(self, item_ids, domain: int):
        """The request as the model reads it: the last max_len non-padding ids."""
        recent = most_recent(raw_strings(checked("item_ids", item_ids, 2)),
                             self.model.config.max_len)
        return {items_input(self.model.spec.domains[domain]): recent}

    def _next_item(self, domain: int, item_ids_of_domain, k: int):
        name = items_input(self.model.spec.domains[domain])

        def next_item(item_ids):
            request = self._recent(item_ids, domain)
            scores = tf.cast(self.model.score_next(request, domain), tf.float32)
            # every item of the request is the user's, not only the max_len it reads
            seen = self.model.item_positions(self.preprocessor.lookup(
                name, raw_strings(checked("item_ids", item_ids, 2))))
            return top_items(exclude_positions(scores, seen), item_ids_of_domain, k)

        return next_item

    def _representation(self, item_ids, domain):
        item_ids = checked("item_ids", item_ids, 2)
        which = self.preprocessor.domain_index(
            checked("domain", domain, 1, tf.shape(item_ids)[0], "row of item_ids"))
        out = None
        for k in range(len(self.model.spec.domains)):
            gur = tf.cast(self.model.user_representation(self._recent(item_ids, k), k),
                          tf.float32)
            out = gur if out is None else tf.where(tf.equal(which, k)[:, None], gur, out)
        return {"representation": out}

    def warmup_requests(self, histories: dict, sizes: tuple[int, ...] = (1, 8)) -> list:
        """Each signature called with the first 1 and 8 rows of ``histories`` (per
        domain, raw ids with "" padding): a domain's own for ``next_item_<domain>``
        and ``serving_default``, the first domain's for ``user_representation``."""
        spec, requests = self.model.spec, []
        last = spec.domains[-1]
        for signature in self.signatures():
            domain = next((d for d in spec.domains if signature == f"next_item_{domain_slug(d)}"),
                          last if signature == "serving_default" else spec.domains[0])
            dtype = self.signatures()[signature].input_signature[0].dtype
            for size in sizes:
                rows = histories[domain][:size]
                if not len(rows):
                    continue
                inputs = {"item_ids": raw_ids(rows, dtype)}
                if signature == "user_representation":
                    inputs["domain"] = np.array([domain] * len(rows), dtype=object)
                requests.append((signature, inputs))
        return requests

    def signatures(self) -> dict:
        """Every signature, and ``serving_default``: the next item of the last domain."""
        last = f"next_item_{domain_slug(self.model.spec.domains[-1])}"
        return {**self.functions, "serving_default": self.functions[last]}


def top_items(scores, item_ids, k: int) -> dict:
    """``top_k_ids`` and ``top_k_scores`` [B, k] of ``scores`` [B, items]; where fewer
    than k items are left once a row's own are excluded (-inf), the rest is padding:
    id -1 (or "") and score -inf."""
    top = tf.math.top_k(scores, k=k)
    padding = tf.constant(-1 if item_ids.dtype == tf.int64 else "", item_ids.dtype)
    return {"top_k_ids": tf.where(tf.math.is_inf(top.values) & (top.values < 0), padding,
                                  tf.gather(item_ids, top.indices)),
            "top_k_scores": top.values}
