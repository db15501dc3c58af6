"""Deep & Cross baselines of DAAN: single-domain, fine-tuned, and DANN on the same extractor.

All three read the same gated Deep & Cross extractor as CNAN-AT's networks
(shared + domain-specific embeddings, field gates, Deep & Cross), the paper's
base model, so that the comparison isolates joint training:

- ``dcn`` trains on the rows that ``train_domains`` keeps: ``target`` is the paper's
  Self-train, ``source`` its Src-only, ``both`` one pooled model;
- ``dcn_finetune`` trains on the source domain for ``source_epochs`` epochs,
  then on the target domain (two ``fit`` phases, each on its own domain's
  instances); its checkpoint is chosen among the fine-tuning epochs on the
  target's validation AUC (the source epochs are not validated);
- ``dann_dcn`` is DANN: one fully shared extractor (no domain-specific
  embeddings) and a gradient-reversed domain classifier on its output.

Reference: Qiu et al. Transfer Learning with Domain-aware Attention Network for
Item Recommendation in E-commerce (2019), Sec. 3.2.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import keras
import tensorflow as tf
from keras import ops

from tfxdr.config import CtrTrainConfig, TrainingRowsConfig, require
from tfxdr.layers import DomainClassifiers
from tfxdr.models.adversarial import AdversarialLossConfig, DomainAdversarialModel
from tfxdr.models.gated_cross import (GatedCrossConfig, GatedCrossNetwork, embedding_for,
                                     l2_of_networks)
from tfxdr.models.registry import registered
from tfxdr.models.tracked import LossTermsModel

TRACKED = ("loss", "ctr_loss", "l2_loss")


@dataclasses.dataclass
class DCNConfig(GatedCrossConfig, TrainingRowsConfig, CtrTrainConfig):
    """Hyperparameters: CNAN-AT's extractor and schedule.

    Args:
        specific_dim: domain-specific embedding size (8, as CNAN-AT; trained on
            one domain it simply widens the embedding).
        gated: use the field gates (the paper's base models have them).
        l2: weight of the L2 term on the network weights (CNAN-AT's lambda_4).
        source_epochs: ``dcn_finetune`` only: epochs on the source domain before
            the fine-tuning epochs on the target.
    """

    specific_dim: int = 8
    gated: bool = True
    l2: float = 1e-6
    source_epochs: int = 0

    def validate(self) -> None:
        super().validate()
        require(self, "specific_dim", self.specific_dim >= 0, "an integer >= 0")
        require(self, "l2", self.l2 >= 0.0, "a number >= 0")
        require(self, "source_epochs", 0 <= self.source_epochs < self.epochs,
                f"an integer in [0, epochs={self.epochs})")
        if self.source_epochs:
            require(self, "train_domains", self.train_domains == "both",
                    "both (source epochs then target epochs need both domains)")


@dataclasses.dataclass
class DCNFineTuneConfig(DCNConfig):
    """``dcn`` trained on the source, then fine-tuned on the target (the paper's FineTune).

    Early stopping only counts fine-tuning epochs, so ``epochs`` is the source
    epochs plus at most ``epochs - source_epochs`` target epochs.
    """

    source_epochs: int = 5
    epochs: int = 15

    def validate(self) -> None:
        super().validate()
        require(self, "source_epochs", self.source_epochs >= 1, "an integer >= 1")


class DCN(LossTermsModel):
    """sigmoid(w^T GatedCross(e) + b): the base model on whatever rows it is given."""

    per_batch_metrics = TRACKED

    def __init__(self, sizes: dict, config: DCNConfig, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embedding = embedding_for(config, sizes, config.specific_dim)
        self.network = GatedCrossNetwork(config, config.gated, seed, name="network")
        self.head = keras.layers.Dense(1, name="logit")
        self.selection_start_epoch = config.source_epochs

    def build(self, input_shape=None):
        self.built = True

    def training_phases(self, dataset: tf.data.Dataset, epochs: int) -> list:
        """Fine-tuning: ``source_epochs`` on the source's instances, then the target's,
        each phase in full batches of its own domain."""
        if not self.config.source_epochs:
            return [(epochs, dataset)]

        def only(domain):
            def keep(features, label):
                return tf.equal(tf.cast(features["domain"], tf.int32), domain)
            rows = dataset.unbatch().filter(keep)
            # One counting pass, so that Keras knows each phase's epoch length.
            count = int(rows.reduce(0, lambda n, _: n + 1))
            batches = -(-count // self.config.batch_size)
            return (rows.batch(self.config.batch_size)
                    .apply(tf.data.experimental.assert_cardinality(batches))
                    .prefetch(tf.data.AUTOTUNE))

        return [(self.config.source_epochs, only(0)), (epochs, only(1))]

    def logits(self, inputs, training=False):
        output, _ = self.network(self.embedding(inputs), training=training)
        return ops.squeeze(self.head(output), -1)

    def call(self, inputs, training=False):
        return ops.sigmoid(self.logits(inputs, training=training))

    def field_gates(self, inputs):
        """[B, F] gates (``embedding.field_names`` orders the fields)."""
        return self.network(self.embedding(inputs))[1]

    def train_step(self, data):
        inputs, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            ctr_loss = ops.mean(ops.binary_crossentropy(
                ops.cast(labels, "float32"), self.logits(inputs, training=True), from_logits=True))
            l2_loss = l2_of_networks(self, self.embedding)
            loss = ctr_loss + 0.5 * self.config.l2 * l2_loss
        return self.minimise(tape, {"loss": loss, "ctr_loss": ctr_loss, "l2_loss": l2_loss})


@dataclasses.dataclass
class DANNDCNConfig(GatedCrossConfig, AdversarialLossConfig, TrainingRowsConfig,
                    CtrTrainConfig):
    """DANN on the Deep & Cross extractor: fully shared, one reversed domain classifier.

    ``lambda_2`` weights the domain loss and ``grl_scale`` is the reversal's
    lambda (:class:`AdversarialLossConfig`; the intra-class terms are unused).
    The classifier reads tanh of the extractor's unbounded output, as ``dann``'s
    does (see :class:`tfxdr.models.dadin.DANNConfig`).

    ``grl_scale`` defaults to 0.1, chosen on validation: on ML-100K
    (Drama -> Comedy, seeds 0-1) the target's validation AUC was 0.7205 with
    0.1 against 0.7140 with 1.0, and on planted data a reversal of 0.3 or more
    keeps the extractor from learning clicks that need a history interaction.
    """

    grl_scale: float = 0.1
    classifier_input_activation: Literal["none", "tanh"] = "tanh"

    def has(self, part: str) -> bool:
        return part == "global"


class DANNDCN(DomainAdversarialModel):
    """Click logit w^T o + b and domain classifier D(GRL(o)) on o = GatedCross(e)."""

    def __init__(self, sizes: dict, config: DANNDCNConfig, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.embedding = embedding_for(config, sizes, 0)
        self.network = GatedCrossNetwork(config, True, seed, name="network")
        self.head = keras.layers.Dense(1, name="logit")
        width = config.output_width(len(self.embedding.field_names), config.shared_dim)
        self.domain_classifiers = DomainClassifiers(
            width, config.threshold, config.grl_scale,
            input_activation=None if config.classifier_input_activation == "none" else "tanh",
            name="domain_classifiers")

    def build(self, input_shape=None):
        self.built = True

    def features(self, inputs, training=False):
        output, _ = self.network(self.embedding(inputs), training=training)
        return output, output

    def predict_logit(self, h, training=False):
        return ops.squeeze(self.head(h), -1)


def _compiled(model: keras.Model, config) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    return model


@registered("dcn", DCNConfig, "ctr",
            "Deep & Cross with field gates on one domain or both (DAAN's Self-train, Src-only)")
def build_dcn(config: DCNConfig, sizes: dict, seed: int) -> DCN:
    return _compiled(DCN(sizes, config, seed=seed), config)


@registered("dcn_finetune", DCNFineTuneConfig, "ctr",
            "Deep & Cross trained on the source, fine-tuned on the target (DAAN's FineTune)")
def build_dcn_finetune(config: DCNFineTuneConfig, sizes: dict, seed: int) -> DCN:
    return build_dcn(config, sizes, seed)


@registered("dann_dcn", DANNDCNConfig, "ctr",
            "DANN on the Deep & Cross extractor: one gradient-reversal domain classifier")
def build_dann_dcn(config: DANNDCNConfig, sizes: dict, seed: int) -> DANNDCN:
    return _compiled(DANNDCN(sizes, config, seed=seed), config)
