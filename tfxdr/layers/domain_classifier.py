"""A domain classifier, optionally behind a gradient reversal."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers.gradient_reversal import GradientReversal


@keras.saving.register_keras_serializable(package="tfxdr")
class DomainClassifier(keras.layers.Layer):
    """Per-instance cross-entropy of a linear domain classifier on features h.

    With two domains it is one logit and a binary cross-entropy; with n > 2, n
    logits and a softmax cross-entropy.  With ``reversal_scale`` set, h passes a
    :class:`GradientReversal` first, so that minimising the loss trains the
    classifier to tell the domains apart and the features to hide them.

    Args:
        num_domains: how many domains there are (>= 2).
        reversal_scale: the reversal's lambda; None for no reversal.
        input_activation: ``tanh`` squashes h before the classifier, None leaves
            it.  With unbounded features a linear classifier's loss has no
            maximum, and a reversed gradient can grow them without limit; a tanh
            makes that gradient vanish as they grow.

    Call args:
        features: [B, D] features.
        domain: [B] domain indices.

    Returns:
        [B] cross-entropies.
    """

    def __init__(self, num_domains: int = 2, reversal_scale: float | None = None,
                 input_activation: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if input_activation not in (None, "tanh"):
            raise ValueError(f"input_activation={input_activation!r} is invalid: expected "
                             "None or 'tanh'")
        if num_domains < 2:
            raise ValueError(f"num_domains={num_domains} is invalid: expected an integer >= 2")
        self.num_domains = int(num_domains)
        self.reversal_scale = reversal_scale
        self.input_activation = input_activation

    def build(self, features_shape, domain_shape=None):
        self.reversal = None
        if self.reversal_scale is not None:
            self.reversal = GradientReversal(self.reversal_scale, name="reversal")
            self.reversal.build(features_shape)
        units = 1 if self.num_domains == 2 else self.num_domains
        self.classifier = keras.layers.Dense(units, name="classifier")
        self.classifier.build((None, int(features_shape[-1])))
        self.built = True

    def logits(self, features):
        if self.reversal is not None:
            features = self.reversal(features)
        if self.input_activation == "tanh":
            features = ops.tanh(features)
        return self.classifier(features)

    def call(self, features, domain):
        logits = self.logits(features)
        if self.num_domains == 2:
            return ops.binary_crossentropy(ops.cast(domain, logits.dtype),
                                           ops.squeeze(logits, -1), from_logits=True)
        return keras.losses.sparse_categorical_crossentropy(ops.cast(domain, "int32"), logits,
                                                            from_logits=True)

    def get_config(self):
        return {**super().get_config(), "num_domains": self.num_domains,
                "reversal_scale": self.reversal_scale, "input_activation": self.input_activation}
