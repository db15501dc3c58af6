"""Gradient reversal (Ganin and Lempitsky, 2015) and its warm-up schedule."""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import ops

from tfxdr.errors import TrainingError

WARMUP_VARIABLE = "reversal_warmup"


@keras.saving.register_keras_serializable(package="tfxdr")
class GradientReversal(keras.layers.Layer):
    """Passes inputs through unchanged and multiplies their gradient by ``-scale``.

    Placed between a feature extractor and a domain classifier, it lets one
    optimizer step train the classifier to separate domains while pushing the
    features to confuse it (DADIN Eq. 11, DANN).  It is a training-time device:
    serving graphs take the features before it.

    Args:
        scale: the lambda of the reversed gradient (>= 0).

    The reversed gradient is ``-scale * warmup`` times the incoming one, where
    ``warmup`` is a non-trainable variable (1 by default) that
    :class:`ReversalWarmup` raises from 0 to 1 during training.

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

    def build(self, input_shape=None):
        self.warmup = self.add_weight(shape=(), initializer="ones", trainable=False,
                                      name=WARMUP_VARIABLE)
        self.built = True

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


class ReversalWarmup(keras.callbacks.Callback):
    """Raises every gradient reversal's weight as 2 / (1 + exp(-gamma p)) - 1.

    p goes from 0 to 1 over ``total_steps`` training steps, so the adversarial
    gradient starts at 0, while the features are still noise, and ends at
    tanh(gamma / 2) of the layer's ``scale`` (0.9999 at gamma = 10, the value of
    Ganin et al. 2016, Sec. 5.2.2).  The step count is the optimizer's, so a
    resumed run continues the schedule where it stopped.
    """

    def __init__(self, total_steps: int, gamma: float = 10.0):
        super().__init__()
        if total_steps < 1:
            raise ValueError(f"ReversalWarmup total_steps={total_steps} is invalid: "
                             "expected an integer >= 1")
        self.total_steps = total_steps
        self.gamma = gamma

    def weight(self, step: int) -> float:
        progress = min(step / self.total_steps, 1.0)
        return 2.0 / (1.0 + math.exp(-self.gamma * progress)) - 1.0

    def on_train_begin(self, logs=None):
        self.variables = [v for v in self.model.non_trainable_variables
                          if v.path.endswith(f"/{WARMUP_VARIABLE}")]
        if not self.variables:
            raise TrainingError("ReversalWarmup: the model has no GradientReversal layer")

    def on_train_batch_begin(self, batch, logs=None):
        value = self.weight(int(self.model.optimizer.iterations))
        for variable in self.variables:
            variable.assign(value)
