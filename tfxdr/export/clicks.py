"""Serving module of the click-translation models (D2D-TM and its baselines).

Only the inference path is traced, so dropout, latent noise and discriminators
are not in the serving graph.
"""

from __future__ import annotations

import itertools

import numpy as np
import tensorflow as tf

from tfxdr.export.common import ServingModule, checked, raw_dtype, raw_values
from tfxdr.export.warmup import raw_ids
from tfxdr.features import domain_slug, items_input


class ClickTranslationServing(ServingModule):
    """One signature per ordered pair of domains, ``<source>_to_<target>``.

    Each takes ``item_ids`` [batch, None] (the user's clicked items in the source
    domain, raw ids, padded with -1 or ""; any other rank is rejected at run
    time) and returns ``scores`` [batch, I_target] in the order of the target's
    vocabulary, and ``top_k_ids`` / ``top_k_scores``.  Ids the model never saw
    and padding are ignored.  A target item whose raw id the request holds (an
    item listed in both domains) is never recommended back.
    """

    def __init__(self, model, top_k: int):
        super().__init__(model)
        spec = model.spec
        self.names = [items_input(d) for d in spec.domains]
        self.functions = {}
        for s, t in itertools.permutations(range(len(spec.domains)), 2):
            source, target = spec[self.names[s]], spec[self.names[t]]
            function = tf.function(
                self._translator(s, t, raw_values(target), min(top_k, len(target.vocabulary))),
                input_signature=[tf.TensorSpec(None, raw_dtype(source), name="item_ids")])
            name = f"{domain_slug(spec.domains[s])}_to_{domain_slug(spec.domains[t])}"
            self.functions[name] = function
            setattr(self, name, function)
        self.keep_variables_of(*self.functions.values())

    def _translator(self, source: int, target: int, target_ids, k: int):
        def translate(item_ids):
            item_ids = checked("item_ids", item_ids, 2)
            scores = tf.cast(self.model.translate({self.names[source]: item_ids}, source,
                                                  target), tf.float32)
            # The request's raw ids looked up among the target's items: one listed in
            # both domains is an item the user has.
            clicked = self.model.multi_hot[target](
                self.preprocessor.lookup(self.names[target], item_ids))
            scores = tf.where(clicked > 0, tf.constant(-np.inf, tf.float32), scores)
            top = tf.math.top_k(scores, k=k)
            return {"scores": scores, "top_k_ids": tf.gather(target_ids, top.indices),
                    "top_k_scores": top.values}

        return translate

    def warmup_requests(self, bags: dict, sizes: tuple[int, ...] = (1, 8)) -> list:
        """Each pair's signature (and ``serving_default``) called with the first 1 and
        8 of ``bags`` of its source domain (per domain, each user's raw ids)."""
        spec, requests = self.model.spec, []
        for signature, function in self.signatures().items():
            source = next(d for d in spec.domains if signature.startswith(f"{domain_slug(d)}_to_")) \
                if signature != "serving_default" else spec.domains[0]
            for size in sizes:
                rows = bags[source][:size]
                if not rows:
                    continue
                padded = np.full((len(rows), max(1, max(len(r) for r in rows))), "", dtype=object)
                for i, row in enumerate(rows):
                    padded[i, :len(row)] = row
                requests.append((signature, {
                    "item_ids": raw_ids(padded, function.input_signature[0].dtype)}))
        return requests

    def signatures(self) -> dict:
        """Every pair's signature, and ``serving_default``: the first domain to the second."""
        return {**self.functions, "serving_default": next(iter(self.functions.values()))}
