"""CNAN-AT: the cross-domain neural attention network with adversarial training (DAAN).

One model scores every domain.  Every field has a shared embedding and a
specific one for the instance's domain (concatenated).  A shared network and
one network per domain each gate the fields (Eq. 1) and run a Deep & Cross
tower (Eq. 2): O_c from the shared one, O_d from the instance's domain's, and
y_hat_d = sigmoid(W_c^d O_c + W^d O_d + b^d).

Loss: sum_d Loss_d + lambda_1/2 L_adv + lambda_2/2 L_0 + lambda_3/2 L_1
+ lambda_4/2 ||Theta||^2, where Loss_d is half the mean cross-entropy over the
batch's domain-d instances, L_adv = mean sum_d p(d|O_c) log p(d|O_c) (negative
entropy of a softmax domain discriminator D on O_c: minimising it makes O_c
domain-indiscriminate) and L_d = mean -log p(d|O_d) over domain-d instances.

With n > 2 domains (the paper has two) there is one network, one pair of heads
and one L_d per domain, Loss_d weighs 1/n (1 over the domains trained on), D is
n-way, lambda_2 weighs the L_d of every source domain (all but the last) and
lambda_3 the target's (the last).

Readings (config fields where they change the model):

- The paper names one discriminator D; it is applied to O_c, O_0 and O_1 alike.
  L_adv alone would let D output uniform probabilities and learn nothing, so, as
  in the adversarial multi-task training the paper follows (Liu et al. 2017),
  D also learns to tell the domains apart on O_c: a cross-entropy on O_c with
  the features held fixed, weighted like L_adv (``discriminator_reads_shared``),
  while L_adv's gradient reaches only the shared network (D held fixed).
- L_0 and L_1 do not reach the embedding tables (``specific_loss_to_embeddings``).
- D reads tanh of the features (``discriminator_input_activation``).
- The L2 term covers the networks' weights, not the embedding tables (see
  :meth:`tfxdr.models.deep_cross_base.GatedCrossModel.l2_of_networks`).
- D is the second player: its own Adam takes the gradient of the loss on its
  weights (its cross-entropies; L_adv holds it fixed), on the same forward pass.
- Cross layers are rank-one by default (see :class:`GatedCrossConfig`).

Ablations (Sec. 3.2): ``cnan1`` without domain-specific embeddings, ``cnan2``
without attention gates.

Reference: Qiu et al. Transfer Learning with Domain-aware Attention Network for
Item Recommendation in E-commerce (2019).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from tfxdr.models.deep_cross_base import GatedCrossModel
from tfxdr.ops import masked_mean


def _on_rows(network, fields, rows, training):
    """``network`` on the rows ``rows`` of ``fields``.

    An eager call on a batch without a domain's rows would hand the network a
    tensor whose batch is statically 0, which Keras' TensorFlow ``add`` takes
    for a bias (BiasAdd then fails); such a call runs one row and keeps none.
    """
    selected = ops.take(fields, rows, axis=0)
    if selected.shape[0] == 0:
        output, gates = network(fields[:1], training=training)
        return output[:0], None if gates is None else gates[:0]
    return network(selected, training=training)


@keras.saving.register_keras_serializable(package="tfxdr")
class CNANAT(GatedCrossModel):
    """See the module docstring.  ``call`` returns the click probability [B] of each
    instance in its own domain (the request's ``domain``)."""

    loss_terms = ("loss", "ctr_loss", "adv_loss", "shared_domain_loss", "specific_domain_loss",
                  "l2_loss")
    discriminator_objective = "loss"

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        n = self.num_domains
        self.embedding = self.make_embedding(0 if cfg.ablation == "cnan1" else cfg.specific_dim)
        gated = cfg.ablation != "cnan2"
        self.shared_network = self.make_network(self.embedding, gated, self.seed,
                                                "shared_network")
        self.domain_networks = [self.make_network(self.embedding, gated, self.seed + 1 + d,
                                                  f"domain_network_{d}") for d in range(n)]
        width = self.shared_network.output_width(len(self.embedding.fields),
                                                 self.embedding.output_dim)
        self.shared_heads = [keras.layers.Dense(1, use_bias=False, name=f"W_c_{d}")
                             for d in range(n)]
        self.domain_heads = [keras.layers.Dense(1, name=f"W_{d}") for d in range(n)]
        self.discriminator = keras.layers.Dense(n, name="domain_discriminator")
        for layer in self.shared_heads + self.domain_heads + [self.discriminator]:
            layer.build((None, width))

    def discriminator_variables(self):
        return list(self.discriminator.trainable_variables)

    def forward(self, features, training=False) -> dict:
        """Logits [B], the field embeddings, O_c, the domain rows and each domain's O_d
        and gates, from indices."""
        fields = self.embedding(features)
        domain = ops.cast(features["domain"], "int32")
        o_c, shared_gates = self.shared_network(fields, training=training)
        rows = tf.dynamic_partition(tf.range(tf.shape(domain)[0]), domain, self.num_domains)
        logits, o_specific, gates = [], [], []
        for d, network in enumerate(self.domain_networks):
            o_d, gates_d = _on_rows(network, fields, rows[d], training)
            logit = (self.shared_heads[d](ops.take(o_c, rows[d], axis=0))
                     + self.domain_heads[d](o_d))
            logits.append(ops.squeeze(logit, -1))
            o_specific.append(o_d)
            gates.append(gates_d)
        return {"logits": tf.dynamic_stitch(rows, logits), "fields": fields, "o_c": o_c,
                "rows": rows, "o_specific": o_specific, "shared_gates": shared_gates,
                "domain_gates": gates}

    def logits(self, features, training=False):
        return self.forward(features, training=training)["logits"]

    def field_gates(self, inputs) -> dict:
        """Gates [B, F] of the shared network and, per domain d, [B_d, F] of network d
        on the domain-d instances of a raw request (``embedding.fields`` orders the
        fields)."""
        out = self.forward(self.indices(inputs))
        return {"shared": out["shared_gates"], "domains": out["domain_gates"],
                "rows": out["rows"]}

    def _discriminator_input(self, features):
        if self.config.discriminator_input_activation == "tanh":
            return ops.tanh(features)
        return features

    def compute_losses(self, data, training=True):
        cfg = self.config
        inputs, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        features = self.indices(inputs, training)
        out = self.forward(features, training=training)
        domain = ops.cast(features["domain"], "int32")
        per_row = ops.binary_crossentropy(ops.cast(labels, "float32"), out["logits"],
                                          from_logits=True)
        trained = [self.spec.domains.index(d) for d in self.trained_domains]
        ctr_loss = sum(masked_mean(per_row, domain == d) for d in trained) / len(trained)
        kernel, bias = self.discriminator.kernel, self.discriminator.bias
        o_c = self._discriminator_input(out["o_c"])
        # L_adv moves only the shared network: D is held fixed in it.
        fixed_logits = ops.matmul(o_c, ops.stop_gradient(kernel)) + ops.stop_gradient(bias)
        p = ops.softmax(fixed_logits, axis=-1)
        adv_loss = ops.mean(ops.sum(p * ops.log(ops.maximum(p, 1e-12)), axis=-1))
        shared_domain_loss = ops.mean(keras.losses.sparse_categorical_crossentropy(
            domain, self.discriminator(ops.stop_gradient(o_c)), from_logits=True))
        o_specific = out["o_specific"]
        if not cfg.specific_loss_to_embeddings and (cfg.lambda_2 or cfg.lambda_3):
            fields = ops.stop_gradient(out["fields"])
            o_specific = [_on_rows(network, fields, out["rows"][d], training)[0]
                          for d, network in enumerate(self.domain_networks)]
        specific = []
        for d, o_d in enumerate(o_specific):
            target = ops.full((ops.shape(o_d)[0],), d, dtype="int32")
            ce = keras.losses.sparse_categorical_crossentropy(
                target, self.discriminator(self._discriminator_input(o_d)), from_logits=True)
            specific.append(masked_mean(ce, ops.ones_like(ce)))
        l2_loss = self.l2_of_networks(self.embedding)
        loss = (ctr_loss + 0.5 * cfg.lambda_1 * adv_loss + 0.5 * cfg.lambda_2 * sum(specific[:-1])
                + 0.5 * cfg.lambda_3 * specific[-1] + 0.5 * cfg.lambda_4 * l2_loss)
        if cfg.discriminator_reads_shared:
            loss = loss + 0.5 * cfg.lambda_1 * shared_domain_loss
        return {"loss": loss, "ctr_loss": ctr_loss, "adv_loss": adv_loss,
                "shared_domain_loss": shared_domain_loss,
                "specific_domain_loss": sum(specific), "l2_loss": l2_loss}
