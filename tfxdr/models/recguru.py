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
(Eq. 10-11), trained on sampled negatives (Eq. 12; see below).

Training (Algorithm 1) runs in three phases of one ``fit`` schedule, each with
its own optimizers: ``pretrain`` (Eq. 5 on both domains), ``adversarial``
(``d_steps`` critic updates, then one generator update of Eq. 13) and
``finetune`` (the next-item loss per domain; validated and selected).

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
- Eq. 10's GUR encodes the sequence up to the predicted step.  Computed once over a
  whole training sequence (as the authors' code does), it holds the target of every
  position but the last, and CDSRec learns to copy them from it: it cannot at
  serving time.  Fine-tuning here encodes a random prefix of each sequence and
  trains the positions after it (``finetune_context="prefix"``); ``"full"`` is the
  whole-sequence reading.
- Eq. 12 averages the sampled negatives' scores before the sigmoid, so one
  high-scoring negative goes unpunished while the rest are low.  Fine-tuning here
  takes each negative's own binary cross-entropy (``finetune_loss="bce"``, SASRec's
  loss); ``"eq12"`` is the paper's (on ML-1M Drama/Comedy its 8 fine-tuning epochs
  reach 0.080 validation full_ndcg@10 on Comedy, bce's 0.127).
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

from tfxdr.losses import bpr_mean_negative, gradient_penalty, sampled_binary_crossentropy
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

    def next_item_states(self, items, domain: int, training=False, context_items=None):
        """CDSRec's outputs q_t [B, m, d] over the last ``short_term_len`` of ``items``,
        attending to the GUR of ``context_items`` (default: all of ``items``; held: the
        encoder is not fine-tuned)."""
        cfg = self.config
        gur = None
        if cfg.uses_autoencoder:
            context = items if context_items is None else trim_padding(context_items)
            gur = ops.stop_gradient(self.encode(context, domain, training=False))
        short = items[:, -(cfg.short_term_len or cfg.max_len):]
        return self._decode(self.cdsrec[domain], short, domain, gur, training)

    def _unseen_context(self, history):
        """A GUR context for fine-tuning that holds none of the items it is trained to
        predict, and the positions it may be trained on.

        Eq. 10's GUR encodes the sequence up to the predicted step.  Computed once over
        a whole training sequence, it holds the targets of every position but the last,
        and CDSRec learns to read them back from it, which it cannot do at serving time.
        Each row instead keeps a uniformly drawn prefix of its history (at least its
        first item, at most all of it); only the positions whose targets come after the
        prefix are trained.  Returns the prefixes (left-padded, [B, L]) and a [B, L] mask.
        """
        width = ops.shape(history)[1]
        count = ops.sum(ops.cast(ops.not_equal(history, 0), "int32"), axis=1)
        draw = keras.random.uniform(ops.shape(count), seed=self.sampler)
        dropped = ops.minimum(ops.cast(draw * ops.cast(count, "float32"), "int32"),
                              ops.maximum(count - 1, 0))  # items cut from the end, per row
        columns = ops.arange(width, dtype="int32")[None, :]
        source = columns - dropped[:, None]
        prefix = ops.where(source >= 0,
                           ops.take_along_axis(history, ops.maximum(source, 0), axis=1), 0)
        trainable = columns >= width - 1 - dropped[:, None]
        return prefix, trainable

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

    def _domain_items(self, inputs, k):
        """The last N training items of domain ``k`` and which rows have any."""
        items = trim_padding(self.tokens(inputs, k, self.config.max_len))
        return items, ops.any(ops.not_equal(items, 0), axis=1)

    def _autoencode(self, inputs, k, training=True):
        """Domain ``k``'s GURs, which rows have any items, and reconstruction loss."""
        items, present = self._domain_items(inputs, k)
        gur = self.encode(items, k, training=training)
        return gur, present, self.reconstruction_loss(items, gur, k, training)

    def _domain_gradients(self, domain_loss, variables) -> list:
        """The gradients of the sum over domains of ``domain_loss(k)``, one domain at a
        time: each domain's graph is built only once the previous one's gradients
        exist, so a step holds one domain's activations at its peak, not both."""
        total, previous = [None] * len(variables), []
        for k in range(self.num_domains):
            with tf.control_dependencies(previous):
                with tf.GradientTape() as tape:
                    loss = domain_loss(k)
                gradients = tape.gradient(loss, variables)
            previous = [g for g in gradients if g is not None]
            total = [a if g is None else g if a is None else
                     tf.convert_to_tensor(a) + tf.convert_to_tensor(g)
                     for a, g in zip(total, gradients)]
        return total

    def _apply_gradients(self, optimizer, gradients, losses, variables) -> None:
        with tf.control_dependencies(self._guards(losses)):
            self._apply(optimizer, gradients, variables)

    def _pretrain_step(self, inputs) -> dict:
        reconstruction = []

        def loss_of(k):
            reconstruction.append(self._autoencode(inputs, k)[2])
            return reconstruction[-1]

        variables = self.generator_variables()
        gradients = self._domain_gradients(loss_of, variables)
        total = sum(reconstruction)
        losses = self._terms(loss=total, reconstruction=total)
        self._apply_gradients(self.extra_optimizers["pretrain"], gradients, losses, variables)
        return losses

    def _critic_mean(self, gur, present):
        """E f(h) over the rows present: W = E f(h_a) - E f(h_b)."""
        return masked_mean(ops.squeeze(self.critic(gur), -1), present)

    def _critic_terms(self, gur_a, present_a, gur_b, present_b):
        """W and the gradient penalty on pairs of the batch's A and B representations
        (interpolation weight uniform per pair)."""
        wasserstein = self._critic_mean(gur_a, present_a) - self._critic_mean(gur_b, present_b)
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

    def _held_gurs(self, inputs) -> list:
        """[gur_a, present_a, gur_b, present_b], the GURs held at their values."""
        held = []
        for k in range(self.num_domains):
            items, present = self._domain_items(inputs, k)
            held += [ops.stop_gradient(self.encode(items, k, training=True)), present]
        return held

    def _generator_gradients(self, inputs, held) -> tuple:
        """The gradients of Eq. 13 (L_rec + W + L_l2) for the generator, and its terms.

        Taken one domain at a time: the critic's W splits into a term per domain, and
        Eq. 9's l2 on pairs is differentiated through each domain's GUR with the
        other's ``held`` at its value (the two sum to the full gradient; with dropout,
        the held value is another draw)."""
        cfg = self.config
        both = ops.logical_and(held[1], held[3])
        reconstruction, critic_terms, distances = [], [], []

        def loss_of(k):
            gur, present, rec = self._autoencode(inputs, k)
            reconstruction.append(rec)
            loss = rec
            if cfg.uses_critic:
                critic_terms.append(self._critic_mean(gur, present))
                loss = loss + (critic_terms[-1] if k == 0 else -critic_terms[-1])
            distances.append(masked_mean(
                ops.sqrt(ops.sum(ops.square(gur - held[2 - 2 * k]), axis=-1) + 1e-12), both))
            if cfg.uses_l2:
                loss = loss + cfg.l2_weight * distances[-1]
            return loss

        gradients = self._domain_gradients(loss_of, self.generator_variables())
        wasserstein = critic_terms[0] - critic_terms[1] if cfg.uses_critic else ops.zeros(())
        loss = sum(reconstruction) + wasserstein
        if cfg.uses_l2:
            loss = loss + cfg.l2_weight * distances[0]
        return gradients, dict(loss=loss, reconstruction=sum(reconstruction),
                               wasserstein=wasserstein, l2=distances[0])

    def joint_generator_loss(self, inputs):
        """Eq. 13 (L_rec + W + L_l2) of every domain in one graph: what
        ``_generator_gradients`` differentiates one domain at a time, written as the
        paper writes it (training does not use it: it holds both domains' activations)."""
        cfg = self.config
        (gur_a, present_a, rec_a), (gur_b, present_b, rec_b) = (
            self._autoencode(inputs, k) for k in (0, 1))
        loss = rec_a + rec_b
        if cfg.uses_critic:
            loss += self._critic_mean(gur_a, present_a) - self._critic_mean(gur_b, present_b)
        if cfg.uses_l2:
            loss += cfg.l2_weight * masked_mean(ops.norm(gur_a - gur_b, axis=-1),
                                                ops.logical_and(present_a, present_b))
        return loss

    def _adversarial_step(self, inputs) -> dict:
        """``d_steps`` critic updates on the batch's GURs, then one generator update."""
        held = self._held_gurs(inputs)
        critic_loss = penalty = ops.zeros(())
        if self.config.uses_critic:
            for _ in range(self.d_steps):
                critic_loss, penalty = self._critic_update(*held)
        gradients, terms = self._generator_gradients(inputs, held)
        losses = self._terms(**terms, gradient_penalty=penalty, critic_loss=critic_loss)
        self._apply_gradients(self.optimizer, gradients, losses, self.generator_variables())
        return losses

    def _finetune_step(self, inputs) -> dict:
        cfg = self.config
        bpr = []

        def loss_of(k):
            tokens = trim_padding(self.tokens(inputs, k, cfg.max_len + 1), minimum=2)
            history, targets = tokens[:, :-1], self.item_positions(tokens[:, 1:])
            context, trainable = None, ops.ones_like(targets, dtype="bool")
            if cfg.uses_autoencoder and cfg.finetune_context == "prefix":
                context, trainable = self._unseen_context(history)
            states = self.next_item_states(history, k, training=True, context_items=context)
            targets = targets[:, -ops.shape(states)[1]:]
            trainable = trainable[:, -ops.shape(states)[1]:]
            negatives = self.sample_items(
                tf.concat([tf.shape(targets), [cfg.bpr_negatives]], 0), k)
            positive = self.scores_of(states, self.embeddings[k],
                                      ops.maximum(targets, 0)[..., None])[..., 0]
            negative = self.scores_of(states, self.embeddings[k], negatives)
            loss = (bpr_mean_negative if cfg.finetune_loss == "eq12"
                    else sampled_binary_crossentropy)(positive, negative)
            bpr.append(masked_mean(loss,
                                   ops.logical_and(targets >= 0, trainable)))
            return bpr[-1]

        variables = self.optimizer_variables("finetune")
        gradients = self._domain_gradients(loss_of, variables)
        losses = self._terms(loss=sum(bpr), bpr=sum(bpr))
        self._apply_gradients(self.extra_optimizers["finetune"], gradients, losses, variables)
        return losses
