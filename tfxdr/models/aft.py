"""AFT (Hao et al., CIKM 2021): adversarial feature translation for multi-domain matching.

A generator proposes, per user and target domain, the k items it believes the
user clicks; a discriminator learns to tell the user's real clicks from
unclicked items and from those fakes, and is the model that recommends.

Generator (Sec. 3.2): the target domain's inputs are masked at random (Eq. 1),
each domain's items averaged (Eq. 2), a transformer runs over the n domain
features (Eq. 3), an attention with the target's feature and embedding as the
query pools them and a two-layer MLP gives h_t (Eq. 4); p_g(e|u) =
sigmoid(h_t . e) (Eq. 5), and its top-k items, the user's known clicks
excluded, are the fakes.

Discriminator (Sec. 3.3): each domain's items averaged (Eq. 6), an item-level
transformer over them and a domain-level one over the domain embeddings
weighted by the user's share of clicks in each (Eq. 7), both concatenated (Eq.
8); ConvE translates them to the general representation u_g (Eqs. 9-10), then
u_g by [d_t; f_t] W_d to the target's u_t (Eq. 11); p_d(e|u) = sigmoid(u_t . e)
(Eq. 12).  Serving retrieves with u_t: the generator is not exported.

Losses (Sec. 3.4): L_D, the binary cross-entropy of the real clicks against
unclicked items and the fakes (Eq. 13); L_G = -mean p_g(fake) Q with the
stop-gradient reward Q = p_d(fake) (REINFORCE, Eq. 14); L_MMD = -MMD^2 between
the fakes' and the real clicks' item vectors (Eq. 15); the discriminator
minimises lambda_D L_D, the generator lambda_G L_G + lambda_M L_MMD (Eq. 16),
``d_steps`` discriminator updates per generator update.

Where this departs from the paper, and why:

- Real clicks are the clicks after a cut of the user's history, the inputs
  those before it (:mod:`tfxdr.tasks.matching`): the paper does not say, and a
  discriminator that reads its positives among its inputs learns to find them
  there.
- Eq. 11 prints f_i; the target's feature f_t is meant (one target).
- beta_i, "how many items the user clicked in d_i", is the user's share of
  input clicks in domain i.
- Eq. 13 is one mean over every pair (``d_reduction="pooled"``); by default
  the mean over the real clicks and the mean over the negatives are added
  (``balanced``, see the config).  Either pools the domains, as Eq. 13's sum
  over all domains does, so a domain weighs by its clicks (the baselines
  average per domain).
- Eq. 15 is a sum over users and domains of the MMD; here it is the squared
  MMD (at most 2 per kernel), summed over the kernel widths of a config field
  (the paper names none) and averaged over the (user, domain) pairs with real
  clicks, as L_D and L_G are.  The fakes are discrete, so L_MMD moves the
  generator's item vectors (the fakes' and the real clicks'), not h_t.
- Eq. 14 takes p_g, not log p_g, as the paper prints it, and no baseline;
  ``reward_baseline="mean"`` subtracts each user's mean reward over its fakes.

The authors' code differs from the paper in more places (a softmax over sampled
candidates and multinomial fakes instead of the top-k, the MLP of Eq. 4
discarded, one attention layer for the 4-layer transformer, L_MMD multiplied by
0); the paper is followed.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from tfxdr.features import NUM_RESERVED
from tfxdr.layers.conve import ConvETranslation
from tfxdr.losses import gaussian_mmd
from tfxdr.models.base import Phase
from tfxdr.models.matching_base import MatchingModel
from tfxdr.ops import exclude_positions, masked_mean


@keras.saving.register_keras_serializable(package="tfxdr")
class AFT(MatchingModel):
    """The generator and the discriminator of AFT over n domains."""

    loss_terms = ("loss", "d_loss", "l_d", "l_g", "l_mmd", "reward")
    discriminator_objective = "d_loss"

    def build(self, input_shape=None):
        super().build(input_shape)  # the discriminator's item tables: serving's
        cfg, n = self.config, self.num_domains
        self.d_domains = self._table(n, "d_domains")
        self.d_items = self.transformer_encoders("d_items", cfg.d_layers, cfg.d_heads)
        self.d_domain_blocks = self.transformer_encoders("d_domains", cfg.d_layers, cfg.d_heads)
        if cfg.uses_translation:
            conve = dict(filters=cfg.conve_filters, kernel_size=cfg.conve_kernel,
                         reduce=cfg.conve_reduce, dropout=cfg.dropout)
            self.general = ConvETranslation(cfg.conve_rows * cfg.dim, (n, cfg.dim),
                                            name="general", **conve)
            self.general.build((None, n * cfg.dim), (None, n * cfg.dim))
            self.relation = keras.layers.Dense(cfg.conve_rows * cfg.dim, name="relation")
            self.relation.build((None, 2 * cfg.dim))
            self.specific = ConvETranslation(cfg.dim, (cfg.conve_rows, cfg.dim),
                                             name="specific", **conve)
            self.specific.build((None, cfg.conve_rows * cfg.dim),
                                (None, cfg.conve_rows * cfg.dim))
            self.translation = [self.general, self.relation, self.specific]
        else:
            self.aggregate = keras.layers.Dense(cfg.dim, name="aggregate")
            self.aggregate.build((None, cfg.dim))
            self.translation = [self.aggregate]
        if cfg.uses_generator:
            self.g_item_tables = [self._table(NUM_RESERVED + k, f"g_items_{i}")
                                  for i, k in enumerate(self.num_items)]
            self.g_domains = self._table(n, "g_domains")
            self.g_blocks = self.transformer_encoders("g_blocks", cfg.g_layers, cfg.g_heads)
            self.g_mlp = keras.Sequential([keras.layers.Dense(cfg.dim, activation=cfg.activation),
                                           keras.layers.Dense(cfg.dim)], name="g_mlp")
            self.g_mlp.build((None, cfg.dim))
        self.built = True

    def _table(self, rows: int, name: str):
        table = keras.layers.Embedding(rows, self.config.dim, name=name)
        table.build((None,))
        return table

    def discriminator_variables(self) -> list:
        layers = [*self.item_tables, self.d_domains, *self.d_items, *self.d_domain_blocks,
                  *self.translation]
        return [v for layer in layers for v in layer.trainable_variables]

    def training_phases(self, epochs: int) -> list[Phase]:
        pretrain = self.config.pretrain_epochs
        return ([Phase(pretrain, selects=False, name="pretrain")] if pretrain else []) + [
            Phase(epochs, name="adversarial")]

    # -- the discriminator ------------------------------------------------------------
    def domain_features(self, inputs, training=False):
        """[B, n, d] the average item vector of each domain (Eq. 6) and [B, n] the
        user's share of input clicks in each (beta)."""
        features, counts = [], []
        for k in range(self.num_domains):
            vectors, known = self.item_vectors(inputs, k)
            features.append(masked_mean(vectors, known[..., None], axis=1))
            counts.append(ops.sum(ops.cast(known, "float32"), axis=1))
        counts = ops.stack(counts, axis=1)
        return ops.stack(features, axis=1), counts / ops.maximum(
            ops.sum(counts, axis=1, keepdims=True), 1.0)

    def general_representation(self, inputs, training=False):
        """u_g (Eqs. 7-10) and the domain features it came from; without translation,
        the item-level and domain-level tokens added, [B, n, d]."""
        features, beta = self.domain_features(inputs, training)
        items = features
        for layer in self.d_items:
            items = layer(items, training=training)
        domains = beta[..., None] * self.d_domains.embeddings[None]
        for layer in self.d_domain_blocks:
            domains = layer(domains, training=training)
        if not self.config.uses_translation:
            return items + domains, features
        rows = ops.shape(features)[0]
        flat = (rows, self.num_domains * self.config.dim)
        return self.general(ops.reshape(items, flat), ops.reshape(domains, flat),
                            training=training), features

    def translate(self, general, features, domain: int, training=False):
        """u_t = ConvE(u_g, [d_t; f_t] W_d) (Eq. 11); without translation, the tokens
        pooled by an attention with f_t + d_t as the query (as Eq. 4 pools the
        generator's), then a linear layer."""
        target = ops.broadcast_to(self.d_domains.embeddings[domain][None, :],
                                  ops.shape(features[:, domain]))
        if not self.config.uses_translation:
            alpha = ops.softmax(ops.einsum("bnd,bd->bn", general, features[:, domain] + target),
                                axis=-1)
            return self.aggregate(ops.einsum("bn,bnd->bd", alpha, general))
        relation = self.relation(ops.concatenate([target, features[:, domain]], axis=-1))
        return self.specific(general, relation, training=training)

    def user_vector(self, inputs, domain: int, training=False):
        general, features = self.general_representation(inputs, training)
        return self.translate(general, features, domain, training)

    # -- the generator ----------------------------------------------------------------
    def generator_user(self, inputs, target: int, training=False):
        """h_t (Eqs. 1-4): the target's inputs masked in training."""
        features = []
        for k in range(self.num_domains):
            tokens = self.tokens(inputs, k, self.config.max_len)
            known = self.item_positions(tokens) >= 0
            ratio = self.config.effective_mask_ratio
            if k == target and training and ratio > 0:
                kept = keras.random.uniform(ops.shape(tokens), seed=self.sampler) >= ratio
                known = ops.logical_and(known, kept)
            features.append(masked_mean(self.g_item_tables[k](tokens), known[..., None], axis=1))
        features = ops.stack(features, axis=1)
        mixed = features + self.g_domains.embeddings[None] if self.config.domain_tokens \
            else features
        for layer in self.g_blocks:
            mixed = layer(mixed, training=training)
        query = features[:, target] + self.g_domains.embeddings[target][None, :]
        alpha = ops.softmax(ops.einsum("bnd,bd->bn", mixed, query), axis=-1)
        return self.g_mlp(ops.einsum("bn,bnd->bd", alpha, mixed), training=training)

    def fakes(self, user, target: int, clicked):
        """[B, k] positions of the top-k items by h_t . e, the user's clicks out."""
        return self.top_unclicked(user, self.g_item_tables[target].embeddings[NUM_RESERVED:],
                                  clicked)

    def top_unclicked(self, user, items, clicked):
        """[B, num_fakes] positions of the items of largest user . e, ``clicked`` [B, C]
        (< 0: none) left out; no gradient flows through the choice.  (keras-rs's
        HardNegativeMining keeps one positive per row; a user here has up to C.)"""
        scores = exclude_positions(ops.matmul(user, ops.transpose(items)), clicked)
        return ops.top_k(ops.stop_gradient(scores), self.config.num_fakes)[1]

    # -- the losses -------------------------------------------------------------------
    def compute_losses(self, data, training=True, with_generator=True):
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        cfg = self.config
        with_generator = with_generator and cfg.uses_generator
        general, features = self.general_representation(inputs, training)
        p_sum = p_count = n_sum = n_count = g_sum = g_count = q_sum = mmd_sum = mmd_count = \
            ops.zeros(())
        for t in range(self.num_domains):
            user = self.translate(general, features, t, training)
            table = self.item_tables[t]
            positives = self.positives(inputs, t)
            valid = ops.cast(positives >= 0, "float32")
            per_user = ops.sum(valid, axis=1)
            clicked = self.clicked(inputs, t)
            negatives = self.sample_items((ops.shape(positives)[0], cfg.num_negatives), t)
            unclicked = ops.cast(self.unclicked(negatives, clicked), "float32") \
                * ops.cast(per_user[:, None] > 0, "float32")
            positive_logits = self._logits(user, table, positives)
            negative_logits = self._logits(user, table, negatives)
            p_sum = p_sum + ops.sum(ops.softplus(-positive_logits) * valid)
            p_count = p_count + ops.sum(valid)
            n_sum = n_sum + ops.sum(ops.softplus(negative_logits) * unclicked)
            n_count = n_count + ops.sum(unclicked)
            if cfg.ablation == "aft_hnm":  # the discriminator's own hardest unclicked items
                hard = self.top_unclicked(user, self.item_matrix(t), clicked)
                weight = per_user[:, None] * ops.cast(self.unclicked(hard, clicked), "float32")
                n_sum = n_sum + ops.sum(ops.softplus(self._logits(user, table, hard)) * weight)
                n_count = n_count + ops.sum(weight)
            if not with_generator:
                continue
            h = self.generator_user(inputs, t, training)
            fakes = self.fakes(h, t, clicked)
            # "top-5 fake items for each positive instance" (Sec. 3.4): a user's fakes
            # count once per real click; a fake that is a click (only where fewer than k
            # items are unclicked) is removed.
            weight = per_user[:, None] * ops.cast(self.unclicked(fakes, clicked), "float32")
            fake_logits = self._logits(user, table, fakes)
            n_sum = n_sum + ops.sum(ops.softplus(fake_logits) * weight)
            n_count = n_count + ops.sum(weight)
            g_table = self.g_item_tables[t]
            reward = ops.stop_gradient(ops.sigmoid(fake_logits))
            advantage = reward - ops.mean(reward, axis=1, keepdims=True) \
                if cfg.reward_baseline == "mean" else reward
            g_sum = g_sum + ops.sum(ops.sigmoid(self._logits(h, g_table, fakes)) * advantage
                                    * weight)
            g_count = g_count + ops.sum(weight)
            q_sum = q_sum + ops.sum(reward * weight)
            mmd = gaussian_mmd(self.table_rows(g_table, fakes),
                               self.table_rows(g_table, positives),
                               y_mask=valid, bandwidths=cfg.mmd_bandwidths)
            mmd_sum = mmd_sum + ops.sum(mmd)
            mmd_count = mmd_count + ops.sum(ops.cast(per_user > 0, "float32"))
        if cfg.d_reduction == "pooled":  # Eq. 13: one mean over every pair
            l_d = (p_sum + n_sum) / ops.maximum(p_count + n_count, 1.0)
        else:
            l_d = p_sum / ops.maximum(p_count, 1.0) + n_sum / ops.maximum(n_count, 1.0)
        l_g = -g_sum / ops.maximum(g_count, 1.0)
        l_mmd = -mmd_sum / ops.maximum(mmd_count, 1.0)
        return {"loss": cfg.lambda_g * l_g + cfg.effective_lambda_mmd * l_mmd,
                "d_loss": cfg.lambda_d * l_d, "l_d": l_d, "l_g": l_g, "l_mmd": l_mmd,
                "reward": q_sum / ops.maximum(g_count, 1.0)}

    def _logits(self, user, table, positions):
        """[B, m] user . e for the item positions [B, m] (negative positions: any) of an
        item ``table``."""
        return ops.einsum("bd,bmd->bm", user, self.table_rows(table, positions))

    def train_step(self, data):
        if self.phase != "pretrain":
            return super().train_step(data)
        d_vars = self.discriminator_variables()
        with tf.GradientTape() as tape:
            losses = self.compute_losses(data, training=True, with_generator=False)
        with tf.control_dependencies(self._guards(losses)):
            self._apply(self.d_optimizer, tape.gradient(losses["d_loss"], d_vars), d_vars)
        with tf.control_dependencies(self._weight_guards()):
            return self.log_terms(losses)
