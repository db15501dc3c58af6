"""Gradient-reversed domain classifiers: DADIN's global and intra-class confusion."""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers.gradient_reversal import GradientReversal
from tfxdr.losses import weighted_mean


class DomainClassifiers(keras.layers.Layer):
    """A global domain classifier and two class-conditional ones behind one reversal.

    Given domain-agnostic features h, the click probability y_hat and the
    domain label (0/1), returns the binary cross-entropies of (Eq. 16-18):

    - ``global``: D(GRL(h)) over every instance;
    - ``negative`` (L_d^0): D_0(GRL((1 - y_hat) h)) over instances with y_hat < T;
    - ``positive`` (L_d^1): D_1(GRL(y_hat h)) over instances with y_hat >= T.

    The classifiers minimise these losses; through the reversal the features
    maximise them.  y_hat passes no gradient here: the class-conditional
    classifiers condition on the prediction, they do not train it.

    Args:
        dim: width of h (the classifiers are built eagerly so that a checkpoint
            restores them before their first use in a training step).
        threshold: T.
        scale: lambda of the gradient reversal.
        input_activation: applied to h before the classifiers (``"tanh"`` or
            None).  With unbounded features a linear classifier's loss has no
            maximum, and the reversed gradient can grow them without limit; a
            tanh makes that gradient vanish as they grow.

    Example:
        >>> losses = DomainClassifiers(64)(h_da, y_hat, domain)
        >>> total = ctr_loss + losses["global"] + 0.5 * (losses["negative"] + losses["positive"])
    """

    NAMES = ("global", "positive", "negative")

    def __init__(self, dim: int, threshold: float = 0.5, scale: float = 1.0,
                 input_activation: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if input_activation not in (None, "tanh"):
            raise ValueError(f"input_activation={input_activation!r} is invalid: expected "
                             "None or 'tanh'")
        self.input_activation = input_activation
        self.dim = dim
        self.threshold = threshold
        self.reversal = GradientReversal(scale)
        self.classifiers = {name: keras.layers.Dense(1, name=f"domain_{name}")
                            for name in self.NAMES}
        for classifier in self.classifiers.values():
            classifier.build((None, dim))

    def call(self, features, y_hat, domain, intra=True):
        """The three losses; with ``intra=False`` the class-conditional ones are not
        computed and read 0."""
        domain = ops.cast(domain, "float32")

        def cross_entropy(name, x):
            x = self.reversal(x)
            if self.input_activation == "tanh":
                x = ops.tanh(x)
            logits = ops.squeeze(self.classifiers[name](x), -1)
            return ops.binary_crossentropy(domain, logits, from_logits=True)

        losses = {"global": ops.mean(cross_entropy("global", features))}
        if not intra:
            zero = ops.zeros_like(losses["global"])
            return {**losses, "positive": zero, "negative": zero}
        y = ops.stop_gradient(ops.cast(y_hat, features.dtype))
        positive = ops.cast(y >= self.threshold, "float32")
        losses["positive"] = weighted_mean(cross_entropy("positive", y[:, None] * features),
                                           positive)
        losses["negative"] = weighted_mean(
            cross_entropy("negative", (1.0 - y[:, None]) * features), 1.0 - positive)
        return losses

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "threshold": self.threshold,
                "scale": self.reversal.scale, "input_activation": self.input_activation}
