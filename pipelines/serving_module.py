"""The pipeline's SavedModel: the transform graph in front of a tfxdr serving module.

A request carries raw item ids; the transform graph (tf.Transform's own layer,
from the Transform component's output) turns them into the indices the model
was trained on, tfxdr's serving function ranks, and the top items' indices are
turned back into raw ids with the same vocabulary file.  The signatures are
tfxdr's click-translation signatures (``<source>_to_<target>`` and
``serving_default``) with raw ids in and out: ``item_ids`` [batch, None]
string, padded with "", -> ``top_k_ids`` [batch, k] string and
``top_k_scores`` [batch, k]; and ``item_index``, the transform graph alone
(raw ids -> the indices training saw), which the skew test compares with the
transformed examples.
"""

from __future__ import annotations

import itertools

import numpy as np
import tensorflow as tf

from tfxdr.export.common import checked
from tfxdr.export.warmup import raw_ids
from tfxdr.features import NUM_RESERVED, domain_slug
from tfxdr_pipelines.transform import DOMAIN, ITEM, ITEM_INDEX, ITEMS_VOCABULARY, USER

WARMUP_USERS = 8


class TransformedClicksServing(tf.Module):
    """Raw ids -> transform graph -> tfxdr's click translation -> raw ids.

    Args:
        inner: tfxdr's ``ClickTranslationServing`` of the trained model.
        graph: the ``TFTransformOutput`` of the Transform component.
    """

    def __init__(self, inner, graph):
        super().__init__()
        self.inner = inner
        self.transform_layer = graph.transform_features_layer()
        self.raw_items = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            graph.vocabulary_file_by_name(ITEMS_VOCABULARY), tf.int64,
            tf.lookup.TextFileIndex.LINE_NUMBER, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE),
            default_value="")
        domains = inner.model.spec.domains
        self.functions = {}
        for s, t in itertools.permutations(range(len(domains)), 2):
            name = f"{domain_slug(domains[s])}_to_{domain_slug(domains[t])}"
            self.functions[name] = tf.function(
                self._translator(inner.functions[name], domains[s]),
                input_signature=[tf.TensorSpec(None, tf.string, name="item_ids")])
            setattr(self, name, self.functions[name])
        self.item_index = tf.function(
            lambda item_ids: {"item_index": self.indices(checked("item_ids", item_ids, 2), "")},
            input_signature=[tf.TensorSpec(None, tf.string, name="item_ids")])

    def indices(self, item_ids, domain: str):
        """Raw ids [batch, T] of ``domain`` as the transform indexes them; "" is -1."""
        flat = tf.reshape(item_ids, [-1, 1])
        rows = tf.shape(flat)[0]
        transformed = self.transform_layer({
            USER: tf.fill([rows, 1], ""), ITEM: flat, DOMAIN: tf.fill([rows, 1], domain)})
        index = tf.reshape(transformed[ITEM_INDEX], tf.shape(item_ids))
        return tf.where(tf.equal(item_ids, ""), tf.constant(-1, tf.int64), index)

    def _translator(self, translate, source: str):
        def serve(item_ids):
            item_ids = checked("item_ids", item_ids, 2)
            index = self.indices(item_ids, source)
            if translate.input_signature[0].dtype == tf.string:
                index = tf.where(index < 0, "", tf.strings.as_string(index))
            ranked = translate(index)
            top = tf.strings.to_number(ranked["top_k_ids"], tf.int64) \
                if ranked["top_k_ids"].dtype == tf.string else ranked["top_k_ids"]
            return {"top_k_ids": self.raw_items.lookup(top - NUM_RESERVED),
                    "top_k_scores": ranked["top_k_scores"]}

        return serve

    def signatures(self) -> dict:
        """Each pair's signature, ``serving_default`` (the first domain to the
        second) and ``item_index``: raw ids -> the transform's indices (-1 padding)."""
        return {**self.functions, "serving_default": next(iter(self.functions.values())),
                "item_index": self.item_index}

    def warmup_requests(self, bags: dict, sizes: tuple[int, ...] = (1, WARMUP_USERS)) -> list:
        """Each signature on the first 1 and 8 users' raw items of its source domain."""
        domains = self.inner.model.spec.domains
        requests = []
        for signature in self.signatures():
            source = domains[0] if signature in ("serving_default", "item_index") else next(
                d for d in domains if signature.startswith(f"{domain_slug(d)}_to_"))
            for size in sizes:
                rows = bags.get(source, [])[:size]
                if not rows:
                    continue
                padded = np.full((len(rows), max(1, max(len(r) for r in rows))), "", object)
                for i, row in enumerate(rows):
                    padded[i, :len(row)] = row
                requests.append((signature, {"item_ids": raw_ids(padded, tf.string)}))
        return requests


def raw_bags(frame, domains, users: int = WARMUP_USERS) -> dict:
    """The raw items of the first ``users`` users (sorted ids) of each domain."""
    first = sorted(frame["user_id"].unique())[:users]
    kept = frame[frame["user_id"].isin(first)]
    return {d: [list(kept.loc[(kept["user_id"] == u) & (kept["domain"] == d), "item_id"])
                for u in first] for d in domains}


def transformed_serving(run, graph, examples):
    """The module, its signatures and warmup requests (from the eval split's raw rows)."""
    from tfxdr_pipelines.trainer import read_examples

    inner, _ = run.task.serving_module(run.model, run.prepared)
    module = TransformedClicksServing(inner, graph)
    frame = read_examples(examples, "eval", {USER: "bytes", ITEM: "bytes", DOMAIN: "bytes"})
    return module, module.signatures(), module.warmup_requests(raw_bags(frame, run.domains))
