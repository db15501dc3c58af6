"""What every cross-domain CTR model shares: its fields, unknown-id training, the click loss.

A CTR request names a user, a candidate item, the domain it is shown in, and
the user's recent clicks in each domain; the feature spec adds the user's and
the item's attributes.  :class:`CtrModel` sorts the spec's features into the
groups the models read (profile, candidate, bags, histories), replaces a
share of the ids of every training batch by the unknown id
(:class:`~tfxdr.layers.UnknownIdDropout`), and outputs the click probability.
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.config import CtrTrainConfig, resolve_train_domains
from tfxdr.layers import UnknownIdDropout
from tfxdr.models.base import TfxdrModel
from tfxdr.ops import masked_mean

class CtrModel(TfxdrModel):
    """Base of the CTR models: ``call`` returns the click probability [B] of each
    (user, candidate) row.  Subclasses implement ``logits(features, training)``
    on indices and add their loss terms to :meth:`click_loss`.

    Attributes (from the spec, set in ``build``):
        profile_fields: the user's features: the id, then single values, then bags.
        candidate_fields: the item's features likewise (genres last).
        history_fields: the histories of the domains the model trains on.
        trained_domains: those domains (``config.train_domains``).
    """

    config: CtrTrainConfig

    def build(self, input_shape=None):
        super().build(input_shape)
        spec = self.spec
        if spec is None:  # numeric inputs (an example on synthetic points): nothing to group
            self.id_fields = []
            return

        def fields(entity):
            features = spec.select(entity=entity)
            ids = [f.name for f in features if f.key == ""]
            singles = sorted(f.name for f in features if f.key and f.kind != "multi_valued")
            bags = sorted(f.name for f in features if f.key and f.kind == "multi_valued")
            return ids + singles + bags

        self.profile_fields = fields("user")
        self.candidate_fields = fields("item")
        self.trained_domains = resolve_train_domains(self.config.train_domains, spec.domains)
        # A model trained on some domains only never saw the others' clicks.
        self.history_fields = [spec.history(d).name for d in self.trained_domains]
        self.id_fields = [f.name for f in spec.select(kind="categorical", request=True)
                          if f.entity] + [f.name for f in spec.select(kind="history")]
        self.unknown_ids = UnknownIdDropout(self.config.unknown_id_rate, seed=self.seed + 1000,
                                            name="unknown_ids")

    @property
    def num_domains(self) -> int:
        return len(self.spec.domains)

    def table_sizes(self, names) -> dict[str, int]:
        """Embedding rows of each named feature."""
        return {name: self.spec.size(name) for name in names}

    def history_tables(self) -> dict[str, str]:
        """Each history input -> the feature whose embedding table it is looked up in."""
        return {name: self.spec[name].table for name in self.history_fields}

    def indices(self, inputs, training=False) -> dict:
        """Raw request -> indices; in training a share of the ids become unknown."""
        features = dict(self.preprocess(inputs))
        if training and self.id_fields:
            for name in self.id_fields:
                features[name] = self.unknown_ids(features[name], training=True)
        return features

    def logits(self, features, training=False):
        raise NotImplementedError

    def call(self, inputs, training=False):
        return ops.sigmoid(self.logits(self.indices(inputs, training), training=training))

    def click_loss(self, labels, logits, sample_weight=None):
        """Mean cross-entropy over the batch (over its weighted rows with weights: a
        zero weight leaves a row out)."""
        per_row = ops.binary_crossentropy(ops.cast(labels, "float32"), logits, from_logits=True)
        if sample_weight is None:
            return ops.mean(per_row)
        return masked_mean(per_row, ops.cast(sample_weight, per_row.dtype))

    def compute_losses(self, data, training=True):
        inputs, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        logits = self.logits(self.indices(inputs, training), training=training)
        return {"loss": self.click_loss(labels, logits, sample_weight)}
