"""Adam with TensorFlow's fused update, for models whose weights are large.

Keras's Adam updates a variable in eleven element-wise ops (two moments, a
square, a square root, a division...), each a pass over the variable's memory.
On a 70,000 x 600 output kernel that is a quarter of a second per step on two
CPU cores, as long as the step's matrix products; TensorFlow's
``ResourceApplyAdam`` kernel does the same update in one pass, about three
times as fast (``benchmarks/click_step.py`` and docs/results/performance.md).
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfxdr")
class FusedAdam(keras.optimizers.Adam):
    """:class:`keras.optimizers.Adam` whose update is TensorFlow's fused kernel.

    The equations are Keras's (m += (g - m)(1 - beta_1), v += (g^2 - v)(1 - beta_2),
    var -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon)) and the
    state is the same variables, so checkpoints move between the two; the results
    differ in rounding only (the kernel fuses the arithmetic).  A sparse gradient
    (rows gathered from a table) is summed into a dense one first: the moments
    decay everywhere, and a row gathered twice adds its two gradients before the
    second moment squares them (Keras's Adam squares each gathered row apart).
    AMSGrad and variables under a ``tf.distribute`` strategy take Keras's own
    update, of the dense gradient.
    """

    def update_step(self, gradient, variable, learning_rate):
        gradient = tf.convert_to_tensor(gradient)
        if self.amsgrad or tf.distribute.has_strategy():
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=handle(variable), m=handle(self._momentums[index]),
            v=handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype))


def handle(variable):
    """The resource handle of a Keras or TensorFlow variable."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


def adam(learning_rate: float, fused: bool, **kwargs) -> keras.optimizers.Optimizer:
    """Adam at ``learning_rate``: :class:`FusedAdam` if ``fused``, else Keras's."""
    return (FusedAdam if fused else keras.optimizers.Adam)(learning_rate, **kwargs)


__all__ = ["FusedAdam", "adam"]
