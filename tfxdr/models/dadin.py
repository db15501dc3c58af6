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
  printed, alpha * (L_d^0 + (1 - alpha) * L_d^1).
- The intra-class multipliers y_hat do not pass gradients to the label
  predictor (stop-gradient): the classifiers condition on the prediction.
- Histories are embedded by item id with the candidate's id table.

Reference: Li et al. DADIN: Domain Adversarial Deep Interest Network for
Cross Domain Recommender Systems (2023).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

import keras
from keras import ops

from tfxdr.config import CtrTrainConfig, require
from tfxdr.layers import (AttentionPooling, BiInteractionPooling, DomainClassifiers,
                          FieldEmbedding)
from tfxdr.models.adversarial import AdversarialLossConfig, DomainAdversarialModel
from tfxdr.models.registry import registered

ABLATIONS = ("dadin",) + tuple(f"dadin{i}" for i in range(1, 10))
SOURCE_HISTORY, TARGET_HISTORY = "hist_0", "hist_1"


@dataclasses.dataclass
class DADINConfig(AdversarialLossConfig, CtrTrainConfig):
    """Hyperparameters (the paper: embedding 64, Adam, lambda_1..3 = 1, alpha = 0.5).

    The loss weights and the reversal are :class:`AdversarialLossConfig`'s.

    Args:
        ablation: ``dadin`` (full) or ``dadin1``..``dadin9`` (Sec. 4.4): 1 average
            pooling of histories, 2 equal interest weights, 3 no Bi-interaction,
            4 no DNN, 5 no feature crossing, 6 no domain-agnostic layer, 7 no global
            domain loss, 8 no intra-class losses, 9 no adversarial losses.
        interest_log_cap: the exponent of Eq. 6 is capped here; unbounded, exp()
            overflows early in training and the losses become NaN.
        agnostic_activation: f of h_DA = f(h_spec), which the paper leaves open.
            tanh keeps h_DA bounded; with ReLU the reversed gradient drives the
            features to grow without limit to saturate the domain classifiers.
        classifier_input_activation: ``tanh`` squashes the features the domain
            classifiers read (``dann`` needs it, see :class:`DANNConfig`); DADIN's
            h_DA is already bounded by ``agnostic_activation``.
    """

    embedding_dim: int = 64
    dnn_hidden: int = 128
    predictor_units: int = 100
    predictor_dropout: float = 0.2
    predictor_activation: Literal["relu", "linear"] = "relu"
    interest_log_cap: float = 3.0
    agnostic_activation: Literal["tanh", "relu"] = "tanh"
    classifier_input_activation: Literal["none", "tanh"] = "none"
    ablations: ClassVar[tuple[str, ...]] = ABLATIONS
    ablation: str = "dadin"

    def validate(self) -> None:
        super().validate()
        require(self, "ablation", self.ablation in self.ablations,
                "one of " + ", ".join(self.ablations))
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "predictor_dropout", 0.0 <= self.predictor_dropout < 1.0,
                "a number in [0, 1)")

    def has(self, part: str) -> bool:
        """Whether the ablation keeps ``part`` (attention, interest, bi, dnn, da, global, intra)."""
        removed = {
            "dadin1": {"attention"}, "dadin2": {"interest"}, "dadin3": {"bi"},
            "dadin4": {"dnn"}, "dadin5": {"bi", "dnn"}, "dadin6": {"da"},
            "dadin7": {"global"}, "dadin8": {"intra"}, "dadin9": {"global", "intra"},
            "dann": {"da", "intra"},
        }.get(self.ablation, set())
        return part not in removed


class DADIN(DomainAdversarialModel):
    """See the module docstring.  ``call`` returns the click probability [B]."""

    def __init__(self, field_sizes: dict[str, int], config: DADINConfig, seed: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.config = config
        d = config.embedding_dim
        self.embedding = FieldEmbedding(field_sizes, d, name="fields")
        self.target_pooling = AttentionPooling(name="target_history_attention")
        self.source_pooling = AttentionPooling(name="source_history_attention")
        self.interest = {w: [keras.layers.Dense(d, activation="relu", name=f"V_{w}"),
                             keras.layers.Dense(1, name=f"g_{w}")] for w in ("u", "t", "s")}
        self.bi_interaction = BiInteractionPooling(name="bi_interaction")
        self.dnn = [keras.layers.Dense(config.dnn_hidden, activation="relu", name="dnn_0"),
                    keras.layers.Dense(d, activation="relu", name="dnn_1")]
        self.crossing_off = keras.layers.Dense(d, name="no_crossing_projection")
        self.domain_agnostic = keras.layers.Dense(d, activation=config.agnostic_activation,
                                                  name="domain_agnostic")
        activation = None if config.predictor_activation == "linear" else "relu"
        self.predictor = [keras.layers.Dense(config.predictor_units, activation=activation,
                                             name="predictor_0"),
                          keras.layers.Dropout(config.predictor_dropout, seed=seed),
                          keras.layers.Dense(1, name="predictor_1")]
        self.domain_classifiers = DomainClassifiers(
            d, config.threshold, config.grl_scale,
            input_activation=None if config.classifier_input_activation == "none" else "tanh",
            name="domain_classifiers")

    def build(self, input_shape=None):
        """Sub-layers build on first use; the ablation decides which are used."""
        self.built = True

    def _history(self, inputs, key, pooling, query, profile):
        history, mask = self.embedding.history(inputs[key])
        if self.config.has("attention"):
            return pooling(history, query, mask, context=profile)
        weights = ops.cast(mask, history.dtype)
        total = ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1.0)
        return ops.sum(history * weights[..., None], axis=1) / total

    def interest_weights(self, q, p, a, b):
        """exp(g^T ReLU(V [q||p||a||b]) + c) for the profile, target and source (Eq. 6)."""
        if not self.config.has("interest"):
            one = ops.ones_like(q[:, :1])
            return one, one, one
        joint = ops.concatenate([q, p, a, b], axis=-1)
        cap = self.config.interest_log_cap
        return tuple(ops.exp(ops.minimum(self.interest[w][1](self.interest[w][0](joint)), cap))
                     for w in ("u", "t", "s"))

    def features(self, inputs, training=False):
        """(h, h_DA, interest weights) of a batch."""
        p, q = self.embedding.profile(inputs), self.embedding.candidate(inputs)
        a = self._history(inputs, TARGET_HISTORY, self.target_pooling, q, p)
        b = self._history(inputs, SOURCE_HISTORY, self.source_pooling, q, p)
        v_u, v_t, v_s = self.interest_weights(q, p, a, b)
        fields = ops.stack([q, v_u * p, v_t * a, v_s * b], axis=1)
        cfg = self.config
        if cfg.has("bi") and cfg.has("dnn"):
            h_spec = self._dnn(self.bi_interaction(fields))
        elif cfg.has("bi"):
            h_spec = self.bi_interaction(fields)
        elif cfg.has("dnn"):
            h_spec = self._dnn(ops.reshape(fields, (-1, 4 * cfg.embedding_dim)))
        else:
            h_spec = self.crossing_off(ops.reshape(fields, (-1, 4 * cfg.embedding_dim)))
        if cfg.has("da"):
            h_da = self.domain_agnostic(h_spec)
            h = h_da + h_spec
        else:
            h_da = h = h_spec
        return h, h_da, (v_u, v_t, v_s)

    def _dnn(self, x):
        for layer in self.dnn:
            x = layer(x)
        return x

    def predict_logit(self, h, training=False):
        x = h
        for layer in self.predictor:
            x = layer(x, training=training) if isinstance(layer, keras.layers.Dropout) else layer(x)
        return ops.squeeze(x, -1)


@dataclasses.dataclass
class DANNConfig(DADINConfig):
    """DANN on DADIN's feature extractor: one gradient-reversed domain classifier.

    The extractor (attention-pooled histories, interest weights, Bi-interaction,
    FC layers) and the label predictor are DADIN's; the domain classifier sees
    h_spec directly, with no domain-agnostic layer and no intra-class classifiers.

    h_spec is a ReLU output with no bound: with a linear classifier on it, the
    reversed gradient grows it until the domain loss reaches ~1e4 and the click
    predictor collapses to chance (planted test data at lambda = 1; ML-1M even
    at lambda = 0.1).  The classifier therefore reads tanh(h_spec)
    (``classifier_input_activation``), which makes the reversed gradient vanish
    as features grow.

    Reference: Ganin et al. Domain-Adversarial Training of Neural Networks. JMLR 2016.
    """

    classifier_input_activation: Literal["none", "tanh"] = "tanh"
    ablations: ClassVar[tuple[str, ...]] = ("dann",)
    ablation: str = "dann"


@registered("dann", DANNConfig, "ctr",
            "DANN: DADIN's extractor with one gradient-reversal domain classifier (baseline)")
@registered("dadin", DADINConfig, "ctr",
            "DADIN: domain-adversarial deep interest network for cross-domain CTR")
def build_dadin(config: DADINConfig, sizes: dict, seed: int) -> DADIN:
    model = DADIN(sizes["fields"], config, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    return model
