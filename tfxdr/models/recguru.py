"""RecGURU (Li et al., WSDM 2022): generalized user representations for cross-domain
sequential recommendation.

GURU: per-domain item and position embeddings; ONE bidirectional transformer
encoder shared by the domains reads a user's last N items and [eos]; the [eos]
output h is the user representation (GUR, Eq. 4).  Per domain, a causal
transformer decoder attending to h reconstructs the sequence (Eq. 5).  A
critic on h is trained as an improved WGAN: it tells the domains' GURs apart,
and the encoder learns to make them indistinguishable (Eq. 8, 13).  Users
present in both domains have their two GURs pulled together (Eq. 9).

CDSRec: per domain, a causal transformer over the short-term sequence attending
to the GUR; the output at the last position q scores item v as q . I_v
(Eq. 10-11), trained with Eq. 12's loss on sampled negatives.

Training (Algorithm 1) runs in three phases of one ``fit`` schedule, each with
its own optimizers: ``pretrain`` (Eq. 5 on both domains), ``adversarial``
(``d_steps`` critic updates, then one generator update of Eq. 13) and
``finetune`` (Eq. 12 per domain; validated and selected).

Where this departs from the paper, and why:

- Eq. 5 sums the log-likelihood over a sequence's positions; here it is
  averaged over a domain's non-padding positions in the batch (the scale of a
  loss that is then weighed against the critic's does not grow with length).
- Eq. 8 writes a log-loss discriminator; Sec. 3.5 and the supplement train it
  as an improved WGAN critic with gradient penalty, as here: the critic
  maximises W = E f(h_a) - E f(h_b) - lambda * GP, and the generator's
  "- L_dis" is + W.
- Algorithm 1 draws fresh batches for each of the ``d_steps`` critic updates.
  Here the critic updates on the step's own batch: the encoder's weights do not
  change during critic updates, so the GURs are computed once and the critic
  steps cost almost nothing; each training step still brings a new batch.
- The reconstruction's softmax spans the next item and 20 sampled items, as
  the supplement's sampled softmax on public data; ``reconstruction_negatives=0``
  spans all the domain's items, Eq. 5 as written.
- The fine-tuning phase trains CDSRec and the item embeddings; the encoder is
  held (its GUR is a fixed input to CDSRec): the paper fine-tunes CDSRec.
- Phase 1 uses a constant step size; the supplement's schedule (Noam warm-up
  over half the pre-training steps) peaks far below it on a short schedule.

And where the authors' public code departs from the paper, which this does
not follow: its cross-domain encoder masks [eos] instead of padding, its
evaluation target is overwritten by the last history item, its l2 term on
overlapped users is switched off, and its sampled negatives are redrawn at
every evaluation (here they are drawn once per seed and saved with the run).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from tfxdr.losses import bpr_mean_negative, gradient_penalty
from tfxdr.models.base import Phase
from tfxdr.models.sequence_base import (SequenceModel, shift_right, single_context,
                                        trim_padding)
from tfxdr.ops import masked_mean

EOS, START = 0, 1  # special tokens after each domain's items


@keras.saving.register_keras_serializable(package="tfxdr")
class RecGURU(SequenceModel):
    """RecGURU over two domains; see the module docstring and :class:`RecGURUConfig`."""

    loss_terms = ("loss", "reconstruction", "wasserstein", "gradient_penalty", "critic_loss",
                  "l2", "bpr")
    discriminator_objective = "critic_loss"
    phase_optimizers = ("pretrain", "finetune")

    def build(self, input_shape=None):
        super().build(input_shape)
        cfg = self.config
        self.embeddings = self.sequence_embeddings(num_extra=2, max_length=cfg.max_len + 1)
        self.cdsrec = [self.transformer_decoders(f"cdsrec_{k}", cfg.uses_autoencoder)
                       for k in range(self.num_domains)]
        self.encoders, self.decoders = [], []
        if cfg.uses_autoencoder:
            shared = cfg.ablation != "single"
            self.encoders = [self.transformer_encoders(f"encoder_{k}")
                             for k in range(1 if shared else self.num_domains)]
            self.decoders = [self.transformer_decoders(f"decoder_{k}", True)
                             for k in range(self.num_domains)]
        self.critic = keras.Sequential(
            [keras.layers.Dense(cfg.critic_dim, activation="relu")
             for _ in range(cfg.critic_layers - 1)] + [keras.layers.Dense(1)], name="critic")
        self.critic.build((None, cfg.dim))
        self.built = True

    def compile_default(self) -> None:
        """The supplement's optimizers: Adam(betas 0.9, 0.98) pre-training, Adam(0.5, 0.9)
        for generator and critic, Adam(0.9, 0.9) fine-tuning."""
        cfg = self.config
        adam = keras.optimizers.Adam
        self.compile(optimizer=adam(cfg.adversarial_learning_rate, beta_1=0.5, beta_2=0.9),
                     d_optimizer=adam(cfg.d_learning_rate or cfg.adversarial_learning_rate,
                                      beta_1=0.5, beta_2=0.9),
                     d_steps=cfg.d_steps,
                     phase_optimizers={
                         "pretrain": adam(cfg.pretrain_learning_rate, beta_1=0.9, beta_2=0.98),
                         "finetune": adam(cfg.learning_rate, beta_1=0.9, beta_2=0.9)})

    # -- the players' variables ----------------------------------------------
    def _weights_of(self, *groups) -> list:
        out = []
        for group in groups:
            for layer in group:
                out.extend(layer.trainable_variables)
        return out

    def generator_variables(self) -> list:
        """The autoencoders: embeddings, encoder(s), decoders."""
        return self._weights_of(self.embeddings, *self.encoders, *self.decoders)

    def discriminator_variables(self) -> list:
        return list(self.critic.trainable_variables)

    def optimizer_variables(self, name: str) -> list:
        if name == "pretrain":
            return self.generator_variables()
        return self._weights_of(self.embeddings, *self.cdsrec)

    def training_phases(self, epochs: int) -> list[Phase]:
        cfg = self.config
        if not cfg.uses_autoencoder:
            return [Phase(epochs, name="finetune")]
        phases, last = [], 0
        for name, count in (("pretrain", cfg.pretrain_epochs),
                            ("adversarial", cfg.adversarial_epochs)):
            if count:
                last += count
                phases.append(Phase(last, selects=False, name=name))
        return phases + [Phase(epochs, name="finetune")]

    # -- the networks ------------------------------------------------------------
    def encode(self, items, domain: int, training=False):
        """[B, d] GURs of item tokens [B, L] (left-padded): the encoder's [eos] output."""
        embedding = self.embeddings[domain]
        eos = ops.full((ops.shape(items)[0], 1), embedding.special(EOS), dtype=items.dtype)
        tokens = ops.concatenate([items, eos], axis=1)
        hidden = embedding(tokens, training=training)
        mask = ops.not_equal(tokens, 0)
        for layer in self.encoders[domain if len(self.encoders) > 1 else 0]:
            hidden = layer(hidden, padding_mask=mask, training=training)
        return hidden[:, -1]

    def _decode(self, layers, inputs, domain: int, context, training=False):
        """A causal stack over item tokens [B, L], attending to ``context`` [B, d]."""
        hidden = self.embeddings[domain](inputs, training=training, offset=1)
        mask = ops.not_equal(inputs, 0)
        with single_context():
            for layer in layers:
                if context is None:
                    hidden = layer(hidden, decoder_padding_mask=mask, training=training)
                else:
                    hidden = layer(hidden, ops.expand_dims(context, 1),
                                   decoder_padding_mask=mask, training=training)
        return hidden

    def reconstruction_loss(self, items, gur, domain: int, training=False):
        """Eq. 5: the decoder's cross-entropy of each item given the ones before it
        and the GUR, averaged over the non-padding positions."""
        embedding = self.embeddings[domain]
        hidden = self._decode(self.decoders[domain], shift_right(items, embedding.special(START)),
                              domain, gur, training)
        targets = self.item_positions(items)
        mask = targets >= 0
        safe = ops.maximum(targets, 0)
        negatives = self.config.reconstruction_negatives
        if negatives:
            sampled = self.sample_items(tf.concat([tf.shape(items), [negatives]], 0), domain)
            logits = self.scores_of(hidden, embedding,
                                    ops.concatenate([safe[..., None], sampled], axis=-1))
            safe = ops.zeros_like(safe)
        else:
            logits = self.item_scores(hidden, embedding)
        cross_entropy = keras.losses.sparse_categorical_crossentropy(safe, logits,
                                                                     from_logits=True)
        return masked_mean(cross_entropy, mask)

    def next_item_states(self, items, domain: int, training=False):
        """CDSRec's outputs q_t [B, m, d] over the last ``short_term_len`` of ``items``,
        attending to the GUR of all of them (held: the encoder is not fine-tuned)."""
        cfg = self.config
        gur = None
        if cfg.uses_autoencoder:
            gur = ops.stop_gradient(self.encode(items, domain, training=False))
        short = items[:, -(cfg.short_term_len or cfg.max_len):]
        return self._decode(self.cdsrec[domain], short, domain, gur, training)

    def score_next(self, inputs, domain: int):
        items = trim_padding(self.tokens(inputs, domain, self.config.max_len))
        states = self.next_item_states(items, domain)
        return self.item_scores(states[:, -1], self.embeddings[domain])

    def user_representation(self, inputs, domain: int):
        """[B, d] GURs of the users' recent items in ``domain``."""
        items = trim_padding(self.tokens(inputs, domain, self.config.max_len))
        return self.encode(items, domain)

    # -- training -------------------------------------------------------------------
    def train_step(self, data):
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        step = {"pretrain": self._pretrain_step, "adversarial": self._adversarial_step}
        losses = step.get(self.phase, self._finetune_step)(inputs)
        with tf.control_dependencies(self._weight_guards()):
            return self.log_terms(losses)

    def test_step(self, data):
        raise NotImplementedError("RecGURU is evaluated by the sequence task, not evaluate()")

    def _terms(self, **values) -> dict:
        """Every loss term, 0 where this phase has none (the trackers log every step)."""
        return {name: ops.convert_to_tensor(values.get(name, 0.0), "float32")
                for name in self.loss_terms}

    def _autoencode(self, inputs, training=True):
        """Per domain: the GURs of the last N training items, which rows have any,
        and the reconstruction loss."""
        out = []
        for k in range(self.num_domains):
            items = trim_padding(self.tokens(inputs, k, self.config.max_len))
            gur = self.encode(items, k, training=training)
            present = ops.any(ops.not_equal(items, 0), axis=1)
            out.append((gur, present, self.reconstruction_loss(items, gur, k, training)))
        return out

    def _apply_losses(self, optimizer, tape, losses, variables) -> None:
        with tf.control_dependencies(self._guards(losses)):
            self._apply(optimizer, tape.gradient(losses["loss"], variables), variables)

    def _pretrain_step(self, inputs) -> dict:
        with tf.GradientTape() as tape:
            reconstruction = sum(loss for _, _, loss in self._autoencode(inputs))
            losses = self._terms(loss=reconstruction, reconstruction=reconstruction)
        self._apply_losses(self.extra_optimizers["pretrain"], tape, losses,
                           self.generator_variables())
        return losses

    def _wasserstein(self, gur_a, present_a, gur_b, present_b):
        """W = E f(h_a) - E f(h_b) over the rows present in each domain."""
        return (masked_mean(ops.squeeze(self.critic(gur_a), -1), present_a)
                - masked_mean(ops.squeeze(self.critic(gur_b), -1), present_b))

    def _critic_terms(self, gur_a, present_a, gur_b, present_b):
        """W and the gradient penalty on pairs of the batch's A and B representations
        (interpolation weight uniform per pair)."""
        wasserstein = self._wasserstein(gur_a, present_a, gur_b, present_b)
        real = tf.boolean_mask(gur_a, present_a)
        fake = tf.boolean_mask(gur_b, present_b)
        pairs = ops.minimum(ops.shape(real)[0], ops.shape(fake)[0])
        alpha = keras.random.uniform((pairs, 1), seed=self.sampler)
        penalty = gradient_penalty(self.critic, real[:pairs], fake[:pairs], alpha)
        penalty = ops.sum(penalty) / ops.maximum(ops.cast(pairs, "float32"), 1.0)
        return wasserstein, penalty

    def _critic_update(self, gur_a, present_a, gur_b, present_b) -> tuple:
        critic_variables = self.discriminator_variables()
        with tf.GradientTape() as tape:
            wasserstein, penalty = self._critic_terms(gur_a, present_a, gur_b, present_b)
            critic_loss = -wasserstein + self.config.gp_weight * penalty
        terms = {"critic_loss": critic_loss, "gradient_penalty": penalty}
        with tf.control_dependencies(self._guards(terms)):
            self._apply(self.d_optimizer, tape.gradient(critic_loss, critic_variables),
                        critic_variables)
        return critic_loss, penalty

    def _adversarial_step(self, inputs) -> dict:
        cfg = self.config
        with tf.GradientTape() as tape:
            (gur_a, present_a, rec_a), (gur_b, present_b, rec_b) = self._autoencode(inputs)
            critic_loss = penalty = wasserstein = ops.zeros(())
            if cfg.uses_critic:
                with tape.stop_recording():
                    held = [ops.stop_gradient(gur_a), present_a, ops.stop_gradient(gur_b),
                            present_b]
                    for _ in range(self.d_steps):
                        critic_loss, penalty = self._critic_update(*held)
                wasserstein = self._wasserstein(gur_a, present_a, gur_b, present_b)
            both = ops.logical_and(present_a, present_b)
            l2 = masked_mean(ops.sqrt(ops.sum(ops.square(gur_a - gur_b), axis=-1) + 1e-12), both)
            loss = rec_a + rec_b
            if cfg.uses_critic:
                loss = loss + wasserstein
            if cfg.uses_l2:
                loss = loss + cfg.l2_weight * l2
            losses = self._terms(loss=loss, reconstruction=rec_a + rec_b, wasserstein=wasserstein,
                                 gradient_penalty=penalty, critic_loss=critic_loss, l2=l2)
        self._apply_losses(self.optimizer, tape, losses, self.generator_variables())
        return losses

    def _finetune_step(self, inputs) -> dict:
        cfg = self.config
        with tf.GradientTape() as tape:
            bpr = ops.zeros(())
            for k in range(self.num_domains):
                tokens = trim_padding(self.tokens(inputs, k, cfg.max_len + 1), minimum=2)
                history, targets = tokens[:, :-1], self.item_positions(tokens[:, 1:])
                states = self.next_item_states(history, k, training=True)
                targets = targets[:, -ops.shape(states)[1]:]
                negatives = self.sample_items(
                    tf.concat([tf.shape(targets), [cfg.bpr_negatives]], 0), k)
                positive = self.scores_of(states, self.embeddings[k],
                                          ops.maximum(targets, 0)[..., None])[..., 0]
                negative = self.scores_of(states, self.embeddings[k], negatives)
                bpr = bpr + masked_mean(bpr_mean_negative(positive, negative), targets >= 0)
            losses = self._terms(loss=bpr, bpr=bpr)
        self._apply_losses(self.extra_optimizers["finetune"], tape, losses,
                           self.optimizer_variables("finetune"))
        return losses
