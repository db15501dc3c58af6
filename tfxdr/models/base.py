"""The one training base of every model: loss terms, guards, one or two players.

A model subclasses :class:`TfxdrModel`, builds its networks in ``build`` from
the feature spec and its config, and computes its loss terms in
``compute_losses``; the base's ``train_step`` does the rest:

- every loss term is logged by its own tracker (the ``metrics`` property), and
  checked: a non-finite term stops training with an error naming it, before
  any update is applied, so the weights and the best checkpoint stay sound;
  every weight is checked after the step's updates (finite losses can still
  give an infinite gradient), naming the first that is not finite;
- a model with a discriminator or critic names its variables
  (``discriminator_variables``) and the term they minimise
  (``discriminator_objective``) and is compiled with
  ``compile(optimizer=..., d_optimizer=..., d_steps=k)``: each training step
  makes k - 1 discriminator-only updates, then one update of both players on
  one forward pass (the generator on ``loss``, the discriminator on its
  objective), so after training ``d_optimizer.iterations == k *
  optimizer.iterations`` (an optimizer whose variables get no gradient, as in
  an ablation without the discriminator, skips its update).  Both optimizers
  are built when the model is compiled, so every checkpoint saves and restores
  the state of both;
- a model that trains in phases with optimizers of their own (RecGURU) names
  them in ``phase_optimizers`` and their variables in ``optimizer_variables``;
  they are compiled, saved and restored with the other two.

Every model takes raw requests: its first layer is the run's
:class:`~tfxdr.layers.FeaturePreprocessor`, built from the same spec, so a model
saved as ``.keras`` or exported scores raw ids exactly as in training.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import keras
import tensorflow as tf
from keras import ops

from tfxdr.config import Config, TwoPlayerConfig, from_dict, to_dict
from tfxdr.features import FeatureSpec
from tfxdr.layers import FeaturePreprocessor
from tfxdr.optimizers import adam
from tfxdr.registry import MODELS

NON_FINITE = "non-finite loss term"
NON_FINITE_WEIGHT = "non-finite weight"


@dataclasses.dataclass(frozen=True)
class Phase:
    """Epochs up to ``last_epoch`` train on the rows of ``domains`` (None: all the
    model trains on); ``selects`` is false for a pre-training phase, whose epochs
    are neither validated nor candidates for the checkpoint.  ``name`` tells the
    model's training step which phase it is in (see ``TfxdrModel.start_phase``)."""

    last_epoch: int
    domains: tuple[str, ...] | None = None
    selects: bool = True
    name: str = "train"


class TfxdrModel(keras.Model):
    """Base of every registered model; see the module docstring.

    Args:
        spec: the run's :class:`FeatureSpec` (or its dict); None for a model on
            numeric inputs that need no preprocessing.
        config: the model's config dataclass.
        seed: seed of the model's random layers.
        registered_as: the registry name, which rebuilds the config class on load
            (default: the name this class is registered under with this config's class).

    Subclasses set ``loss_terms`` (the names ``compute_losses`` returns, ``loss``
    first) and, with a second player, ``discriminator_objective``.
    """

    loss_terms: ClassVar[tuple[str, ...]] = ("loss",)
    discriminator_objective: ClassVar[str | None] = None
    phase_optimizers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec, config: Config, seed: int = 0, registered_as: str = "",
                 **kwargs):
        super().__init__(**kwargs)
        self.spec = spec if spec is None or isinstance(spec, FeatureSpec) \
            else FeatureSpec.from_dict(spec)
        self.config = config
        self.seed = int(seed)
        self.registered_as = registered_as or MODELS.name_of(type(self), type(config))
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_terms}
        self.d_optimizer = None
        self.d_steps = 1
        self.extra_optimizers = {}
        self.phase = None

    # -- Keras serialisation ------------------------------------------------
    def get_config(self):
        return {"name": self.name, "registered_as": self.registered_as,
                "spec": None if self.spec is None else self.spec.to_dict(),
                "config": to_dict(self.config), "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config_cls = MODELS.get(config["registered_as"]).config_cls
        config["config"] = from_dict(config_cls, config["config"])
        return cls(**config)

    # -- building -----------------------------------------------------------
    def build(self, input_shape=None):
        """Creates the preprocessing layer; subclasses then create their networks."""
        if self.spec is not None:
            self.preprocessor = FeaturePreprocessor(self.spec, name="preprocessor")
            self.preprocessor.build()
        self.built = True

    def preprocess(self, inputs):
        """Raw request -> indices (numeric inputs pass through a model without a spec)."""
        return inputs if self.spec is None else self.preprocessor(inputs)

    def compile_default(self) -> None:
        """Adam at the config's learning rate(s); a discriminator gets its own Adam
        (both fused where :meth:`fuses_adam` says so)."""
        cfg, fused = self.config, self.fuses_adam()
        d_optimizer, d_steps = None, 1
        if self.discriminator_objective is not None:
            d_rate = cfg.learning_rate
            if isinstance(cfg, TwoPlayerConfig):
                d_rate, d_steps = cfg.d_learning_rate or cfg.learning_rate, cfg.d_steps
            d_optimizer = adam(d_rate, fused)
        self.compile(optimizer=adam(cfg.learning_rate, fused),
                     d_optimizer=d_optimizer, d_steps=d_steps)

    def fuses_adam(self) -> bool:
        """Whether :meth:`compile_default` takes :class:`~tfxdr.optimizers.FusedAdam`
        (models whose weights grow with a catalogue decide; see
        :class:`~tfxdr.config.AdamUpdateConfig`)."""
        return False

    def compile(self, optimizer="adam", d_optimizer=None, d_steps: int = 1,
                phase_optimizers: dict | None = None, **kwargs):
        """``optimizer`` updates everything but the discriminator, ``d_optimizer`` the
        discriminator, ``d_steps`` times per training step; ``phase_optimizers``
        holds one optimizer per name of the class's ``phase_optimizers``.  String
        ops (the vocabulary lookups) cannot be XLA-compiled, so ``jit_compile`` is off."""
        if (d_optimizer is None) != (self.discriminator_objective is None):
            raise ValueError(f"{type(self).__name__}: d_optimizer is "
                             + ("required" if d_optimizer is None else "not used")
                             + " by this model")
        if d_steps < 1:
            raise ValueError(f"d_steps={d_steps} is invalid: expected an integer >= 1")
        given = dict(phase_optimizers or {})
        if set(given) != set(self.phase_optimizers):
            raise ValueError(f"{type(self).__name__}: phase_optimizers must name "
                             f"{sorted(self.phase_optimizers)}, got {sorted(given)}")
        kwargs["jit_compile"] = False
        if not self.built:  # a model made directly, not by the registry: build it first
            self.build()
        super().compile(optimizer=optimizer, **kwargs)
        self.d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer is not None else None
        self.d_steps = int(d_steps)
        self.extra_optimizers = {name: keras.optimizers.get(given[name])
                                 for name in self.phase_optimizers}
        self.build_optimizers()

    def get_compile_config(self):
        config = super().get_compile_config() or {}
        if self.d_optimizer is not None:
            config["d_optimizer"] = keras.saving.serialize_keras_object(self.d_optimizer)
            config["d_steps"] = self.d_steps
        if self.extra_optimizers:
            config["phase_optimizers"] = {
                name: keras.saving.serialize_keras_object(optimizer)
                for name, optimizer in self.extra_optimizers.items()}
        return config

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("optimizer", "d_optimizer"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        if config.get("phase_optimizers"):
            config["phase_optimizers"] = {
                name: keras.saving.deserialize_keras_object(optimizer)
                for name, optimizer in config["phase_optimizers"].items()}
        self.compile(**{k: v for k, v in config.items()
                        if k in ("optimizer", "d_optimizer", "d_steps", "phase_optimizers",
                                 "steps_per_execution", "run_eagerly")})

    def build_optimizers(self) -> None:
        """Builds each optimizer over its player's variables, so that a checkpoint
        saves and restores the state of all (Keras builds only ``optimizer``)."""
        if not self.optimizer.built:
            self.optimizer.build(self.generator_variables())
        if self.d_optimizer is not None and not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator_variables())
        for name, optimizer in self.extra_optimizers.items():
            if not optimizer.built:
                optimizer.build(self.optimizer_variables(name))

    def all_optimizers(self) -> list:
        """Every optimizer of the model: ``optimizer``, ``d_optimizer``, the phases'."""
        return [o for o in (self.optimizer, self.d_optimizer, *self.extra_optimizers.values())
                if o is not None]

    def optimizer_variables(self, name: str) -> list:
        """The variables phase optimizer ``name`` updates."""
        raise NotImplementedError(f"{type(self).__name__} has no phase optimizer {name!r}")

    # -- the two players ------------------------------------------------------
    def discriminator_variables(self) -> list:
        """The second player's variables (none for a one-player model)."""
        return []

    def generator_variables(self) -> list:
        excluded = {id(v) for v in self.discriminator_variables()}
        return [v for v in self.trainable_variables if id(v) not in excluded]

    # -- training -----------------------------------------------------------
    @property
    def metrics(self):
        return list(self.trackers.values())

    @property
    def per_batch_metrics(self) -> tuple[str, ...]:
        """Every tracker gets one unweighted update per batch (see StepLossWriter)."""
        return self.loss_terms

    def compute_losses(self, data, training: bool = True) -> dict:
        """Every term of ``loss_terms`` for a batch; ``loss`` is what the generator
        (or the only player) minimises."""
        raise NotImplementedError

    def training_phases(self, epochs: int) -> list[Phase]:
        """How the epochs split into phases on different rows (default: one)."""
        return [Phase(epochs)]

    def start_phase(self, phase: Phase) -> None:
        """Called before each epoch: a new phase's training step is traced again."""
        if phase.name != self.phase:
            self.phase = phase.name
            self.train_function = None

    def training_callbacks(self, total_steps: int | None) -> list:
        """Schedules the model needs while it trains (default: none)."""
        return []

    def _training_losses(self, data) -> dict:
        """``compute_losses`` in training, the layers' weight regularisers added to ``loss``."""
        losses = self.compute_losses(data, training=True)
        if self.losses:
            losses["loss"] = losses["loss"] + ops.sum(self.losses)
        return losses

    def train_step(self, data):
        for _ in range(self.d_steps - 1):
            self._discriminator_step(data)
        with tf.GradientTape(persistent=self.d_optimizer is not None) as tape:
            losses = self._training_losses(data)
        with tf.control_dependencies(self._guards(losses)):
            self._apply(self.optimizer, tape.gradient(losses["loss"], self.generator_variables()),
                        self.generator_variables())
            if self.d_optimizer is not None:
                d_vars = self.discriminator_variables()
                self._apply(self.d_optimizer,
                            tape.gradient(losses[self.discriminator_objective], d_vars), d_vars)
        del tape
        with tf.control_dependencies(self._weight_guards()):
            return self.log_terms(losses)

    def _discriminator_step(self, data) -> None:
        d_vars = self.discriminator_variables()
        with tf.GradientTape() as tape:
            losses = self._training_losses(data)
        with tf.control_dependencies(self._guards(losses)):
            self._apply(self.d_optimizer, tape.gradient(losses[self.discriminator_objective],
                                                        d_vars), d_vars)

    def test_step(self, data):
        """``model.evaluate``: the loss terms on a batch, without dropout or noise."""
        return self.log_terms(self.compute_losses(data, training=False))

    @staticmethod
    def _apply(optimizer, gradients, variables) -> None:
        # A variable an ablation leaves unused has no gradient; it is not updated.
        pairs = [(g, v) for g, v in zip(gradients, variables) if g is not None]
        # Under a multi-replica strategy the optimizer sums the replicas' gradients;
        # each replica's loss is a mean over its own share of the batch.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if pairs:
            optimizer.apply([g / replicas if replicas > 1 else g for g, _ in pairs],
                            [v for _, v in pairs])

    @staticmethod
    def _guards(losses: dict) -> list:
        return [tf.debugging.check_numerics(ops.convert_to_tensor(value, "float32"),
                                            f"{NON_FINITE} '{name}'")
                for name, value in losses.items()]

    def _weight_guards(self) -> list:
        # A sum is not finite when any element is not; one reduction per weight.
        return [tf.debugging.check_numerics(ops.sum(ops.cast(v, "float32")),
                                            f"{NON_FINITE_WEIGHT} '{v.path}'")
                for v in self.trainable_variables]

    def log_terms(self, losses: dict) -> dict:
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
