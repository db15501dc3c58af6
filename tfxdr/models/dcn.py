"""Deep & Cross baselines of DAAN: single-domain, fine-tuned, and DANN on the same extractor.

All three read the same gated Deep & Cross extractor as CNAN-AT's networks
(shared + domain-specific embeddings, field gates, Deep & Cross), the paper's
base model, so that the comparison isolates joint training:

- ``dcn`` trains on the rows that ``train_domains`` keeps: ``target`` is the paper's
  Self-train, ``source`` its Src-only, ``both`` one pooled model;
- ``dcn_finetune`` trains on the source domains (all but the last) for
  ``source_epochs`` epochs, then on the target domain (the last): two training
  phases, each on its own domain's instances; its checkpoint is chosen among
  the fine-tuning epochs on the target's validation AUC (the source epochs are
  not validated);
- ``dann_dcn`` is DANN: one fully shared extractor (no domain-specific
  embeddings) and a gradient-reversed domain classifier on its output.

Reference: Qiu et al. Transfer Learning with Domain-aware Attention Network for
Item Recommendation in E-commerce (2019), Sec. 3.2.
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers import DomainClassifier
from tfxdr.models.adversarial import DomainAdversarialModel
from tfxdr.models.base import Phase
from tfxdr.models.deep_cross_base import GatedCrossModel


@keras.saving.register_keras_serializable(package="tfxdr")
class DCN(GatedCrossModel):
    """sigmoid(w^T GatedCross(e) + b): the base model on whatever rows it is given."""

    loss_terms = ("loss", "ctr_loss", "l2_loss")

    def build(self, input_shape=None):
        super().build(input_shape)
        self.embedding = self.make_embedding(self.config.specific_dim)
        self.network = self.make_network(self.embedding, self.config.gated, self.seed, "network")
        self.head = keras.layers.Dense(1, name="logit")
        self.head.build((None, self.network.output_width(len(self.embedding.fields),
                                                         self.embedding.output_dim)))

    def training_phases(self, epochs: int) -> list[Phase]:
        """Fine-tuning: ``source_epochs`` on the sources' rows (every domain but the
        last; not validated), then the target's."""
        if not self.config.source_epochs:
            return [Phase(epochs)]
        domains = self.spec.domains
        return [Phase(self.config.source_epochs, domains[:-1], selects=False),
                Phase(epochs, (domains[-1],))]

    def logits(self, features, training=False):
        output, _ = self.network(self.embedding(features), training=training)
        return ops.squeeze(self.head(output), -1)

    def field_gates(self, inputs):
        """[B, F] gates of a raw request (``embedding.fields`` orders the fields)."""
        return self.network(self.embedding(self.indices(inputs)))[1]

    def compute_losses(self, data, training=True):
        ctr_loss = super().compute_losses(data, training)["loss"]
        l2_loss = self.l2_of_networks(self.embedding)
        return {"loss": ctr_loss + 0.5 * self.config.l2 * l2_loss, "ctr_loss": ctr_loss,
                "l2_loss": l2_loss}


@keras.saving.register_keras_serializable(package="tfxdr")
class DANNDCN(DomainAdversarialModel, GatedCrossModel):
    """Click logit w^T o + b and domain classifier D(GRL(o)) on o = GatedCross(e)."""

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        self.embedding = self.make_embedding(0)
        self.network = self.make_network(self.embedding, True, self.seed, "network")
        width = self.network.output_width(len(self.embedding.fields), self.embedding.output_dim)
        self.head = keras.layers.Dense(1, name="logit")
        self.head.build((None, width))
        self.domain_classifier = DomainClassifier(self.num_domains, cfg.grl_scale,
                                                  cfg.classifier_activation,
                                                  name="domain_classifier")
        self.domain_classifier.build((None, width))

    def discriminator_variables(self):
        return list(self.domain_classifier.trainable_variables)

    def features(self, features, training=False):
        output, _ = self.network(self.embedding(features), training=training)
        return output, output

    def predict_logit(self, h, training=False):
        return ops.squeeze(self.head(h), -1)

    def domain_losses(self, h_da, logits, domain) -> dict:
        return {"domain_loss": ops.mean(self.domain_classifier(h_da, domain)),
                "intra_loss": ops.zeros(())}
