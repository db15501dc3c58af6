"""Closed-form click translation: ridge, EASE and item-kNN from item co-occurrences.

All three score a target domain's items as ``x_s W_st``: the source click vector
times a block of one items x items matrix ``W`` over every domain's items (the
domains' columns in ``click_bag`` order), which each solves from the training
users' co-occurrence counts ``G = X^T X`` alone:

* ridge: ``W_st = (G_ss + l2 I)^-1 G_st``, the least-squares map from a user's
  source click vector to the target's (one solve per source domain);
* EASE (Steck, WWW 2019): ``P = (G + l2 I)^-1``, ``W = I - P diag(1 / diag(P))``,
  every item predicted from every other item of every domain, zero diagonal;
* item-kNN: ``W_ij = G_ij / (sqrt(G_ii G_jj) + shrink)`` (cosine), optionally
  keeping each target item's ``neighbours`` most similar source items.

They train through the same ``fit`` as every model: the first epoch's steps
count ``G`` (no gradient), and :class:`SolveAtEpochEnd` solves after each epoch
with the epoch's value of the config's grid, so that validation selection picks
the value.  ``G`` counts integers in float32 (exact up to 2^24 users), so it does
not depend on the batch size or order.  ``G`` and ``W`` are non-trainable
weights: checkpoints, resume files and ``.keras`` files carry them; the export
traces ``translate`` and holds ``W`` only.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfxdr.errors import ConfigError, TrainingError
from tfxdr.models.click_base import ClickModel


class SolveAtEpochEnd(keras.callbacks.Callback):
    """Solves the model for the epoch's grid value and logs that value; training
    stops after the grid's last value.  An epoch a signal cut short is not solved:
    its counts are partial, and the resumed epoch solves when it ends."""

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            return
        grid = self.model.config.grid()
        value = grid[min(epoch, len(grid) - 1)]
        self.model.solve(value)
        if logs is not None:
            logs[self.model.config.grid_field] = value
        if epoch + 1 >= len(grid):
            self.model.stop_training = True


class ClosedFormClickModel(ClickModel):
    """Counts ``G`` in its first epoch and solves ``W`` from it after every epoch."""

    loss_terms = ("loss", "clicks")

    def build(self, input_shape=None):
        super().build(input_shape)
        n = sum(self.num_items)
        if n > self.config.max_items:
            raise ConfigError(self._too_big(n), field="max_items")
        self.offsets = np.cumsum([0, *self.num_items]).tolist()
        self.gram = self.add_weight(shape=(n, n), initializer="zeros", trainable=False,
                                    aggregation="sum", name="gram")
        self.solution = self.add_weight(shape=(n, n), initializer="zeros", trainable=False,
                                        name="solution")
        self.counted = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                       name="counted")
        self.solved_with = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                           name="solved_with")

    def _too_big(self, n: int) -> str:
        gigabytes = 2 * n * n * 4 / 1e9
        return (f"{self.registered_as or type(self).__name__} holds two {n}x{n} float32 "
                f"matrices ({gigabytes:.1f} GB, and {2 * gigabytes:.1f} GB more while "
                f"solving) over the {n} items of {', '.join(self.spec.domains)}; "
                f"max_items={self.config.max_items}. Raise max_items if the machine has the "
                "memory, or restrict the catalogue (fewer domains, a higher min_rating)")

    def fit(self, *args, callbacks=None, **kwargs):
        """Keras's ``fit``, solving after each epoch (``fit_with_selection`` passes
        :meth:`training_callbacks`; a plain ``fit`` gets them here)."""
        callbacks = list(callbacks or [])
        if not any(isinstance(c, SolveAtEpochEnd) for c in callbacks):
            callbacks.insert(0, SolveAtEpochEnd())
        return super().fit(*args, callbacks=callbacks, **kwargs)

    def training_callbacks(self, total_steps: int | None) -> list:
        return [SolveAtEpochEnd()]

    def compute_losses(self, data, training=True):
        """Nothing to minimise (``loss`` 0); ``clicks``: the batch's clicks."""
        x = ops.concatenate(self.click_vectors(data), axis=-1)
        return {"loss": ops.zeros(()), "clicks": ops.sum(x)}

    def train_step(self, data):
        x = ops.concatenate(self.click_vectors(data), axis=-1)

        def count():
            # A sparse left factor: the cost follows the clicks, not batch x items^2.
            self.gram.assign_add(tf.sparse.sparse_dense_matmul(tf.sparse.from_dense(x), x,
                                                               adjoint_a=True))
            return tf.constant(True)

        tf.cond(self.counted < 0.5, count, lambda: tf.constant(False))
        return self.log_terms({"loss": ops.zeros(()), "clicks": ops.sum(x)})

    def solve(self, value: float) -> None:
        """Sets ``W`` from ``G`` with the grid value ``value`` (in float64) and marks the
        counting done."""
        gram = np.asarray(self.gram.numpy(), dtype=np.float64)
        solution = self.solve_gram(gram, float(value))
        if not np.all(np.isfinite(solution)):
            raise TrainingError(f"{self.registered_as}: the solution with "
                                f"{self.config.grid_field}={value} is not finite; try a larger "
                                "value", field=self.config.grid_field)
        self.solution.assign(solution.astype(np.float32))
        self.counted.assign(1.0)
        self.solved_with.assign(value)

    def solve_gram(self, gram: np.ndarray, value: float) -> np.ndarray:
        """``W`` [n, n] from the co-occurrences; the blocks ``translate`` reads are
        (source, target) for source != target."""
        raise NotImplementedError

    def blocks(self):
        """``(s, t, source_slice, target_slice)`` for every ordered pair of domains."""
        for s in range(self.num_domains):
            for t in range(self.num_domains):
                if s != t:
                    yield (s, t, slice(self.offsets[s], self.offsets[s + 1]),
                           slice(self.offsets[t], self.offsets[t + 1]))

    def translate(self, inputs, source: int, target: int):
        """[B, I_target]: the source click vector times the (source, target) block of W."""
        x = self.click_vector(self.preprocess(inputs), source)
        block = self.solution[self.offsets[source]:self.offsets[source + 1],
                              self.offsets[target]:self.offsets[target + 1]]
        return ops.matmul(x, block)


@keras.saving.register_keras_serializable(package="tfxdr")
class Ridge(ClosedFormClickModel):
    """Ridge regression from the source click vector to the target's: the
    closed-form linear translation D2D-TM's nonlinear one should beat."""

    def solve_gram(self, gram, value):
        solution = np.zeros_like(gram)
        for s in range(self.num_domains):
            rows = slice(self.offsets[s], self.offsets[s + 1])
            others = np.r_[0:self.offsets[s], self.offsets[s + 1]:len(gram)]
            kernel = gram[rows, rows] + value * np.eye(rows.stop - rows.start)
            solution[rows, others] = np.linalg.solve(kernel, gram[rows][:, others])
        return solution


@keras.saving.register_keras_serializable(package="tfxdr")
class EASE(ClosedFormClickModel):
    """EASE over the concatenated items of every domain.  An item listed in two
    domains has a column in each, which predict each other; the task and export
    never rank a user's own source items, so this copy is never scored."""

    def solve_gram(self, gram, value):
        precision = np.linalg.inv(gram + value * np.eye(len(gram)))
        solution = -precision / np.diag(precision)[None, :]
        np.fill_diagonal(solution, 0.0)
        return solution


@keras.saving.register_keras_serializable(package="tfxdr")
class ItemKNN(ClosedFormClickModel):
    """Item-based nearest neighbours: a target item's score is the summed similarity
    of the user's source items to it."""

    def solve_gram(self, gram, value):
        if self.config.similarity == "cosine":
            norms = np.sqrt(np.diag(gram))
            denominator = norms[:, None] * norms[None, :] + value
            similarity = np.divide(gram, denominator, out=np.zeros_like(gram),
                                   where=denominator > 0)
        else:
            similarity = gram.copy()
        solution = np.zeros_like(gram)
        k = self.config.neighbours
        for _, _, rows, columns in self.blocks():
            block = similarity[rows, columns]
            if 0 < k < block.shape[0]:
                # Each target column keeps its k largest source rows.
                weakest = np.argpartition(-block, k, axis=0)[k:]
                np.put_along_axis(block, weakest, 0.0, axis=0)
            solution[rows, columns] = block
        return solution
