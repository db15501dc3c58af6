"""DADIN: the domain-adversarial deep interest network for cross-domain CTR.

Per instance: user profile p (field embeddings summed), candidate item q (item
id, item fields and genres summed), and the target- and source-domain click
histories pooled by item-level attention into a and b (Eq. 2-3).  Interest
attention weights them, m = [q || v_u p || v_t a || v_s b] with
v = exp(g^T ReLU(V [q || p || a || b]) + c) (Eq. 5-6); Bi-interaction pooling
(Eq. 7-8) and two FC layers give h_spec; a domain-agnostic layer gives h_DA
and h = h_DA + h_spec feeds the label predictor FC(100)-Dropout-FC(1) shared by
both domains.  Through a gradient reversal layer h_DA feeds a global domain
classifier and two intra-class classifiers on y_hat * h_DA and (1 - y_hat) * h_DA,
whose losses count instances with y_hat >= T and y_hat < T respectively.

Readings and choices (config fields where they change the model):

- Eq. 5 prints ``v_s`` on both histories; the text names three weights v_u, v_t,
  v_s, so a (target history) gets v_t and b (source history) gets v_s.
- Eq. 9 has no activation between the predictor's two FC layers, which would
  make them one linear map; ``predictor_activation`` defaults to ReLU.
- ``loss_form="eq22"`` weights the intra-class losses alpha * L_d^0 +
  (1 - alpha) * L_d^1 (Eq. 22-24, the gradient updates); ``"eq21"`` is Eq. 21 as
  printed, alpha * (L_d^0 + (1 - alpha) * L_d^1) (:func:`intra_class_loss`).
- The intra-class multipliers y_hat do not pass gradients to the label
  predictor (stop-gradient): the classifiers condition on the prediction.
- Histories are embedded by item id with the candidate's id table.
- The first listed domain is the source, the second the target; DADIN takes
  exactly two.

Reference: Li et al. DADIN: Domain Adversarial Deep Interest Network for
Cross Domain Recommender Systems (2023).
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers import AttentionPooling, BiInteractionPooling, DomainClassifier, FieldEmbedding
from tfxdr.models.adversarial import DomainAdversarialModel
from tfxdr.ops import masked_mean


def intra_class_loss(negative, positive, alpha: float, form: str = "eq22"):
    """DADIN's weighting of the two class-conditional domain losses L_d^0, L_d^1.

    ``eq22``: alpha L_d^0 + (1 - alpha) L_d^1, the reading of the gradient
    updates (Eq. 22-24).  ``eq21``: alpha (L_d^0 + (1 - alpha) L_d^1), Eq. 21 as
    printed.
    """
    if form == "eq22":
        return alpha * negative + (1.0 - alpha) * positive
    if form == "eq21":
        return alpha * (negative + (1.0 - alpha) * positive)
    raise ValueError(f"loss form {form!r} is invalid: expected eq22 or eq21")


@keras.saving.register_keras_serializable(package="tfxdr")
class DadinDomainClassifiers(keras.layers.Layer):
    """DADIN's global domain classifier and its two class-conditional ones (Eq. 16-18).

    Given domain-agnostic features h, the click probability y_hat and the
    domain label, returns the global loss D(GRL(h)) over every instance and the
    intra-class ones: L_d^0 = D_0(GRL((1 - y_hat) h)) over instances with y_hat < T
    and L_d^1 = D_1(GRL(y_hat h)) over those with y_hat >= T.  y_hat passes no
    gradient here: the class-conditional classifiers condition on the
    prediction, they do not train it.  A part left out (``global_loss`` or
    ``intra`` false) is not built and reads 0.

    Args:
        scale: lambda of the gradient reversals.
        threshold: T.
        input_activation: see :class:`tfxdr.layers.DomainClassifier`.
        global_loss / intra: build the global / the class-conditional classifiers.
    """

    def __init__(self, scale: float = 1.0, threshold: float = 0.5,
                 input_activation: str | None = None, global_loss: bool = True,
                 intra: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)
        self.threshold = float(threshold)
        self.input_activation = input_activation
        self.global_loss = bool(global_loss)
        self.intra = bool(intra)

    def build(self, features_shape, *args):
        names = (["global"] if self.global_loss else []) + (["positive", "negative"]
                                                            if self.intra else [])
        self.classifiers = {name: DomainClassifier(2, self.scale, self.input_activation,
                                                   name=f"domain_{name}") for name in names}
        for classifier in self.classifiers.values():
            classifier.build(features_shape)
        self.built = True

    def call(self, features, y_hat, domain):
        zero = ops.zeros(())
        losses = {"global": zero, "positive": zero, "negative": zero}
        if self.global_loss:
            losses["global"] = ops.mean(self.classifiers["global"](features, domain))
        if self.intra:
            y = ops.stop_gradient(ops.cast(y_hat, features.dtype))
            positive = y >= self.threshold
            losses["positive"] = masked_mean(
                self.classifiers["positive"](y[:, None] * features, domain), positive)
            losses["negative"] = masked_mean(
                self.classifiers["negative"]((1.0 - y[:, None]) * features, domain), ~positive)
        return losses

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "threshold": self.threshold,
                "input_activation": self.input_activation, "global_loss": self.global_loss,
                "intra": self.intra}


@keras.saving.register_keras_serializable(package="tfxdr")
class DADIN(DomainAdversarialModel):
    """See the module docstring.  ``call`` returns the click probability [B]."""

    def build(self, input_shape=None):
        """Creates exactly the parts the ablation uses."""
        super().build(input_shape)
        cfg = self.config
        d = cfg.embedding_dim
        fields = self.profile_fields + self.candidate_fields
        histories = [self.spec.history(name) for name in self.spec.domains]
        self.source_history, self.target_history = (h.name for h in histories)
        self.embedding = FieldEmbedding(self.table_sizes(fields), d,
                                        shared={h.name: h.table for h in histories},
                                        name="fields")
        self.embedding.build()
        self.poolings = {}
        if cfg.has("attention"):
            for which in ("target", "source"):
                pooling = AttentionPooling(name=f"{which}_history_attention")
                pooling.build((None, None, d), (None, d), None, (None, d))
                self.poolings[which] = pooling
        self.interest = {}
        if cfg.has("interest"):
            for w in ("u", "t", "s"):
                hidden = keras.layers.Dense(d, activation="relu", name=f"V_{w}")
                hidden.build((None, 4 * d))
                score = keras.layers.Dense(1, name=f"g_{w}")
                score.build((None, d))
                self.interest[w] = (hidden, score)
        self.bi_interaction = None
        if cfg.has("bi"):
            self.bi_interaction = BiInteractionPooling(name="bi_interaction")
            self.bi_interaction.build((None, 4, d))
        self.dnn = []
        if cfg.has("dnn"):
            self.dnn = [keras.layers.Dense(cfg.dnn_hidden, activation="relu", name="dnn_0"),
                        keras.layers.Dense(d, activation="relu", name="dnn_1")]
            width = d if cfg.has("bi") else 4 * d
            for layer in self.dnn:
                layer.build((None, width))
                width = layer.units
        self.crossing_off = None
        if not cfg.has("bi") and not cfg.has("dnn"):
            self.crossing_off = keras.layers.Dense(d, name="no_crossing_projection")
            self.crossing_off.build((None, 4 * d))
        self.domain_agnostic = None
        if cfg.has("da"):
            self.domain_agnostic = keras.layers.Dense(d, activation=cfg.agnostic_activation,
                                                      name="domain_agnostic")
            self.domain_agnostic.build((None, d))
        activation = None if cfg.predictor_activation == "linear" else "relu"
        self.predictor = [keras.layers.Dense(cfg.predictor_units, activation=activation,
                                             name="predictor_0"),
                          keras.layers.Dropout(cfg.predictor_dropout, seed=self.seed),
                          keras.layers.Dense(1, name="predictor_1")]
        self.predictor[0].build((None, d))
        self.predictor[2].build((None, cfg.predictor_units))
        self.domain_classifiers = DadinDomainClassifiers(
            cfg.grl_scale, cfg.threshold, cfg.classifier_activation,
            global_loss=cfg.has("global"), intra=cfg.has("intra"), name="domain_classifiers")
        self.domain_classifiers.build((None, d))

    def discriminator_variables(self):
        return list(self.domain_classifiers.trainable_variables)

    def _history(self, features, name, which, query, profile):
        if name not in self.history_fields:  # a domain it does not train on: no clicks seen
            return ops.zeros_like(query)
        history, mask = self.embedding.sequence(features, name)
        if which in self.poolings:
            return self.poolings[which](history, query, mask, context=profile)
        return masked_mean(history, ops.expand_dims(mask, -1), axis=1)

    def interest_weights(self, q, p, a, b):
        """exp(g^T ReLU(V [q||p||a||b]) + c) for the profile, target and source (Eq. 6)."""
        if not self.interest:
            one = ops.ones_like(q[:, :1])
            return one, one, one
        joint = ops.concatenate([q, p, a, b], axis=-1)
        cap = self.config.interest_log_cap
        return tuple(ops.exp(ops.minimum(score(hidden(joint)), cap))
                     for hidden, score in (self.interest[w] for w in ("u", "t", "s")))

    def features(self, features, training=False):
        """(h, h_DA, interest weights) of a batch of indices."""
        p = sum(self.embedding.field(features, name) for name in self.profile_fields)
        q = sum(self.embedding.field(features, name)
                for name in self.candidate_fields)
        a = self._history(features, self.target_history, "target", q, p)
        b = self._history(features, self.source_history, "source", q, p)
        v_u, v_t, v_s = self.interest_weights(q, p, a, b)
        fields = ops.stack([q, v_u * p, v_t * a, v_s * b], axis=1)
        d = self.config.embedding_dim
        if self.bi_interaction is not None:
            x = self.bi_interaction(fields)
        elif self.dnn:
            x = ops.reshape(fields, (-1, 4 * d))
        else:
            x = self.crossing_off(ops.reshape(fields, (-1, 4 * d)))
        for layer in self.dnn:
            x = layer(x)
        h_spec = x
        if self.domain_agnostic is not None:
            h_da = self.domain_agnostic(h_spec)
            return h_da + h_spec, h_da, (v_u, v_t, v_s)
        return h_spec, h_spec, (v_u, v_t, v_s)

    def predict_logit(self, h, training=False):
        x = self.predictor[0](h)
        x = self.predictor[1](x, training=training)
        return ops.squeeze(self.predictor[2](x), -1)

    def domain_losses(self, h_da, logits, domain) -> dict:
        cfg = self.config
        losses = self.domain_classifiers(h_da, ops.sigmoid(logits), domain)
        return {"domain_loss": losses["global"],
                "intra_loss": intra_class_loss(losses["negative"], losses["positive"],
                                               cfg.alpha, cfg.loss_form)}
