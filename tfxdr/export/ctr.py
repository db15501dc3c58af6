"""Serving module of the cross-domain CTR models (DADIN, DAAN and their baselines).

A request carries raw ids: the user, the candidate item and the domain it is
shown in, and the user's recent clicks in each domain.  The model's own
preprocessing layer looks up their indices and the user's and item's
attributes, as in training; only the click predictor is traced, so the
domain classifiers and the gradient reversal are not in the serving graph.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfxdr.data.ctr import USER_ID
from tfxdr.export.common import ServingModule, checked, raw_dtype
from tfxdr.export.warmup import raw_ids


class CtrServing(ServingModule):
    """``serve``: the click probability of each (user, candidate) row.

    Inputs (raw ids; ranks checked at run time, see :mod:`tfxdr.export.common`):

    - ``user_id`` [B]: int64 when every user id of the data is an integer, else string;
    - ``item_id`` [B]: the candidate, int64 or string likewise;
    - ``domain`` [B] string: the candidate's domain, any of the run's domains;
    - ``history_<domain>`` [B, T] for each domain: the user's clicked items there
      before the request, most recent last, padded with -1 or "" anywhere; the
      last ``history_len`` ids are kept, as in training.

    Output ``ctr`` [B] float32 in [0, 1].  An id that training never saw (a
    cold user, a new item) maps to the unknown index, whose embedding was
    trained for it; an unknown domain name fails (the preprocessing layer checks it).
    """

    def __init__(self, model):
        super().__init__(model)
        spec = model.spec
        self.inputs = spec.select(request=True)
        self.serve = tf.function(self._serve, input_signature=[
            tf.TensorSpec(None, tf.string if f.kind == "domain" else raw_dtype(f), name=f.name)
            for f in self.inputs])
        self.keep_variables_of(self.serve)

    def _serve(self, *values):
        raw = dict(zip([f.name for f in self.inputs], values))
        user = checked(USER_ID, raw[USER_ID], 1)
        rows = tf.shape(user)[0]
        request = {USER_ID: user}
        for feature in self.inputs:
            if feature.name != USER_ID:
                rank = 2 if feature.kind == "history" else 1
                request[feature.name] = checked(feature.name, raw[feature.name], rank, rows,
                                                USER_ID)
        return {"ctr": tf.cast(self.model(request, training=False), tf.float32)}

    def warmup_requests(self, features: dict, sizes: tuple[int, ...] = (1, 8)) -> list:
        """``serving_default`` on the first 1 and 8 of ``features`` (raw request
        values, ids as strings with "" padding), typed as its inputs."""
        specs = {spec.name: spec.dtype for spec in self.serve.input_signature}
        requests = []
        for size in sizes:
            inputs = {}
            for name, dtype in specs.items():
                values = np.asarray(features[name])[:size]
                inputs[name] = raw_ids(values, dtype) if dtype in (tf.int64, tf.string) \
                    else values.astype(dtype.as_numpy_dtype)
            requests.append(("serving_default", inputs))
        return requests

    def signatures(self) -> dict:
        return {"serving_default": self.serve}
