"""A Keras model whose custom ``train_step`` minimises one loss and logs each of its terms."""

from __future__ import annotations

from typing import ClassVar

import keras


class LossTermsModel(keras.Model):
    """Keeps one mean tracker per name in ``per_batch_metrics`` (``loss`` among them).

    Each tracker gets one unweighted update per batch (see
    :class:`tfxdr.training.StepLossWriter`), so ``fit``'s logs are the epoch
    means of the loss terms a subclass's ``train_step`` computes.
    """

    per_batch_metrics: ClassVar[tuple[str, ...]] = ("loss",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.per_batch_metrics}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def minimise(self, tape, losses: dict, variables=None) -> dict:
        """One optimizer step on ``losses["loss"]`` (recorded on ``tape``) over
        ``variables`` (default: all trainable ones); returns the logged terms."""
        variables = self.trainable_variables if variables is None else variables
        self.optimizer.apply(tape.gradient(losses["loss"], variables), variables)
        return self.log_terms(losses)

    def log_terms(self, losses: dict) -> dict:
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
