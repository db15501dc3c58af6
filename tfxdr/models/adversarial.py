"""The loss of DADIN-style domain-adversarial models: clicks plus reversed domain losses."""

from __future__ import annotations

import keras

from tfxdr.errors import TrainingError
from tfxdr.layers import ReversalWarmup
from tfxdr.models.ctr_base import CtrModel


class DomainAdversarialModel(CtrModel):
    """Click loss plus gradient-reversed domain losses, in one step of both players.

    L = lambda_1 L_y + lambda_2 L_d + lambda_3 L_intra (DADIN Eq. 21-22).  The
    domain classifiers read the features through a gradient reversal, so
    minimising L trains them to tell the domains apart (their optimizer takes
    L's gradient on their weights) and the features to hide them.

    Subclasses implement ``features(indices, training)`` -> (h, h_DA, ...),
    ``predict_logit(h, training)`` and ``domain_losses(h_DA, y_hat, domain)`` ->
    ``{"domain_loss", "intra_loss"}`` (the weighted terms), and list the
    classifiers' variables in ``discriminator_variables``.  Batches are
    (features, click labels[, sample weights]); a zero weight leaves an instance
    out of the click loss but not out of the domain losses, which is how
    unlabeled target data takes part.
    """

    loss_terms = ("loss", "ctr_loss", "domain_loss", "intra_loss")
    discriminator_objective = "loss"

    def training_callbacks(self, total_steps: int | None) -> list:
        """The reversal warm-up when ``config.grl_warmup_gamma`` > 0 (else constant lambda)."""
        gamma = self.config.grl_warmup_gamma
        if gamma <= 0:
            return []
        if total_steps is None:
            raise TrainingError("grl_warmup_gamma > 0 needs a training dataset of known length",
                                field="grl_warmup_gamma")
        return [ReversalWarmup(total_steps, gamma)]

    def logits(self, features, training=False):
        return self.predict_logit(self.features(features, training=training)[0],
                                  training=training)

    def compute_losses(self, data, training=True):
        cfg = self.config
        inputs, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        indices = self.indices(inputs, training)
        h, h_da = self.features(indices, training=training)[:2]
        logits = self.predict_logit(h, training=training)
        ctr_loss = self.click_loss(labels, logits, sample_weight)
        domain = self.domain_losses(h_da, logits, indices["domain"])
        loss = (cfg.lambda_1 * ctr_loss + cfg.lambda_2 * domain["domain_loss"]
                + cfg.lambda_3 * domain["intra_loss"])
        return {"loss": loss, "ctr_loss": ctr_loss, **domain}
