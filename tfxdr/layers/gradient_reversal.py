"""Gradient reversal (Ganin and Lempitsky, 2015): identity forward, -scale x gradient backward."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

WARMUP_VARIABLE = "reversal_warmup"


class GradientReversal(keras.layers.Layer):
    """Passes inputs through unchanged and multiplies their gradient by ``-scale``.

    Placed between a feature extractor and a domain classifier, it lets one
    optimizer step train the classifier to separate domains while pushing the
    features to confuse it (DADIN Eq. 11, DANN).  It is a training-time device:
    serving graphs take the features before it.

    Args:
        scale: the lambda of the reversed gradient (>= 0).

    The reversed gradient is ``-scale * warmup`` times the incoming one, where
    ``warmup`` is a non-trainable variable (1 by default) that a schedule such
    as :class:`tfxdr.training.ReversalWarmup` raises from 0 to 1 during training.

    Example:
        >>> domain_logits = classifier(GradientReversal(scale=1.0)(features))

    Reference: Ganin and Lempitsky. Unsupervised Domain Adaptation by
    Backpropagation. ICML 2015.
    """

    def __init__(self, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if scale < 0:
            raise ValueError(f"GradientReversal scale={scale} is invalid: expected a number >= 0")
        self.scale = float(scale)
        self.warmup = self.add_weight(shape=(), initializer="ones", trainable=False,
                                      name=WARMUP_VARIABLE)

    def call(self, inputs):
        # Read once, outside the custom gradient, so that it is a plain tensor there.
        scale = self.scale * ops.cast(ops.convert_to_tensor(self.warmup), inputs.dtype)

        @tf.custom_gradient
        def reverse(x):
            def gradient(upstream):
                return -scale * upstream

            return tf.identity(x), gradient

        return reverse(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
