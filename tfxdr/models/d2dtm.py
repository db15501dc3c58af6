"""D2D-TM: domain-to-domain translation with a VAE-GAN and cycle consistency.

Two encoders E_A, E_B map a user's click vector in each domain to a shared
latent space; two generators G_A, G_B map latents back to click vectors.  The
last encoder layers and the first generator layers are the same layer objects
for both domains (weight sharing by reuse).  Streams (Sec. 3): reconstruction
x_AA = G_A(E_A(x_A)), translation x_AB = G_B(E_A(x_A)), cycle
x_ABA = G_A(E_B(x_AB)), and symmetrically for B.  Discriminators D_A, D_B judge
translated vectors only, not reconstructions (Eq. 4-5 and Sec. 3.4).

Eq. 4-5 read two ways (``discriminator_input``).  As printed, D_B(x_B) scores a
vector of B alone: real x_B ~ P_B against the translation G_B(z_A),
z_A ~ q_A(z_A | x_A) (Sec. 3.4: "for real click vectors sampled from the first
domain, D_A should output true").  The paper then calls them "conditional GAN
objective functions", a sentence that follows UNIT (its ref. [14]), which
learns from unpaired images and whose discriminators see one image: the GAN is
conditional in that G_B(z_A) is generated from a user's x_A.  Read so
(``target``), nothing in Eq. 1-7 ties a user's x_A to the same user's x_B.  Read as a conditional GAN's discriminator,
D_B judges x_B given x_A (``conditional``), which the paired data allows and
which matches Figure 1's assumption that a user's x_A and x_B map to one latent
code: D_B scores the pair [x_A | x_B] of one user (real) against
[x_A | G_B(z_A)] with z_A drawn from the same x_A (fake); D_A scores the same
real pair [x_A | x_B] against [G_A(z_B) | x_B].  Pairs are in domain order, A's
columns first, each part L2-normalised on its own, so both discriminators'
first layers read I_A + I_B inputs.  Departure: the equations' D_B(x_B) and
D_B(G_B(z_A)) become D_B(x_B | x_A) and D_B(G_B(z_A) | x_A); the source vector
is the real click vector, not dropped out, and only the target half carries a
gradient to the generator.

Choices where the paper is silent or ambiguous (all config fields):

- Encoders see the L2-normalised click vector (as in Multi-VAE, the paper's
  model for p_G), after input dropout.
- Generated click vectors enter the discriminators and the cycle encoders as
  probabilities (softmax for the multinomial loss, sigmoid otherwise), and
  discriminators compare L2-normalised vectors, so they cannot separate real
  from fake by scale alone.
- The discriminator and the encoder/generator steps use one forward pass per
  batch (the last of ``d_steps`` discriminator updates shares it, see
  :class:`tfxdr.models.base.TfxdrModel`); the discriminator sees stop-gradient
  fakes, the generator the same fakes with gradients.  Each has its own Adam.
- With ``click_inputs=bags`` the real pairs stay bags; a fake pair's source
  clicks are read as a dense vector, as the generated half beside them is dense.
- ``translation_weight`` adds a paired translation likelihood
  -log p(x_B | z_A) - log p(x_A | z_B).  The paper has no such term (0 is the
  paper); it is available because a user's two click vectors are paired data.

Reference: Vo Nguyen, Pham, Nguyen. D2D-TM: A Cycle VAE-GAN for Multi-Domain
Collaborative Filtering (2019).
"""

from __future__ import annotations

import keras
from keras import ops

from tfxdr.layers import GaussianSample
from tfxdr.losses import (
    bag_reconstruction_log_likelihood,
    gan_discriminator_loss,
    gan_generator_loss,
    kl_standard_normal,
    reconstruction_log_likelihood,
)
from tfxdr.models.click_base import ClickModel
from tfxdr.ops import dense_on_bag, l2_normalize


def _dense(units: int, name: str, activation=None) -> keras.layers.Dense:
    return keras.layers.Dense(units, activation=activation, name=name)


def _build_chain(layers: list, width: int) -> int:
    """Builds Dense layers applied in sequence to ``width`` inputs; returns the output width."""
    for layer in layers:
        layer.build((None, width))
        width = layer.units
    return width


def _leaky(x):
    return ops.leaky_relu(x, negative_slope=0.2)


@keras.saving.register_keras_serializable(package="tfxdr")
class D2DTM(ClickModel):
    """The VAE-GAN-CC translation model (Sec. 3) of two domains, A (the first listed)
    and B; see the module docstring.

    Example:
        >>> model = MODELS.get("d2dtm").create(D2DTMConfig(), spec)  # built and compiled
        >>> model.fit(click_pairs, epochs=100)
        >>> scores_b = model.translate({"items_Drama": raw_ids}, source=0, target=1)
    """

    loss_terms = ("loss", "d_loss", "kl", "reconstruction", "gan", "cycle", "translation")
    discriminator_objective = "d_loss"

    def build(self, input_shape=None):
        """Creates every weight from the known sizes, discriminators included."""
        super().build(input_shape)
        cfg = self.config
        sizes = dict(zip("ab", self.num_items))
        private, shared = cfg.layer_sizes(sizes["a"], sizes["b"])
        self.dropout = keras.layers.Dropout(cfg.input_dropout, seed=self.seed)
        self.sample = GaussianSample(seed=self.seed + 1)
        self.encoder_private = {
            d: [_dense(u, f"E{d}_{i}", _leaky) for i, u in enumerate(private)] for d in "ab"}
        # Shared by reuse: E_A and E_B call these same layer objects.
        self.encoder_shared = [_dense(u, f"E_shared_{i}", _leaky) for i, u in enumerate(shared)]
        self.to_mean = _dense(cfg.latent_dim, "E_shared_mean")
        self.generator_shared = [_dense(u, f"G_shared_{i}", _leaky)
                                 for i, u in enumerate(reversed(shared))]
        self.generator_private = {
            d: [_dense(u, f"G{d}_{i}", _leaky) for i, u in enumerate(reversed(private))]
            for d in "ab"}
        self.to_logits = {d: _dense(sizes[d], f"G{d}_logits") for d in "ab"}
        self.discriminators = {
            d: [_dense(u, f"D{d}_{i}", "tanh") for i, u in enumerate(cfg.discriminator_dims)]
            + [_dense(1, f"D{d}_out")] for d in "ab"}
        conditional = cfg.discriminator_input == "conditional"
        for d in "ab":
            width = _build_chain(self.encoder_private[d], sizes[d])
        _build_chain(self.encoder_shared + [self.to_mean], width)
        width = _build_chain(self.generator_shared, cfg.latent_dim)
        for d in "ab":
            _build_chain(self.generator_private[d] + [self.to_logits[d]], width)
            _build_chain(self.discriminators[d], sum(self.num_items) if conditional else sizes[d])

    # -- sub-networks -------------------------------------------------------
    def encode(self, x, domain: str, training=False):
        """Latent mean E_domain(x) of a click (or probability) vector."""
        h = l2_normalize(x)
        h = self.dropout(h, training=training)
        for layer in self.encoder_private[domain] + self.encoder_shared:
            h = layer(h)
        return self.to_mean(h)

    def encode_bag(self, bag, domain: str, training=False):
        """:meth:`encode` of real clicks given as a bag (see
        :meth:`~tfxdr.layers.MultiHot.bag`)."""
        chain = self.encoder_private[domain] + self.encoder_shared + [self.to_mean]
        h = dense_on_bag(chain[0], *self.normalized_bag(bag, self.dropout, training))
        for layer in chain[1:]:
            h = layer(h)
        return h

    def generate(self, z, domain: str):
        """Logits of G_domain(z) over the domain's items."""
        for layer in self.generator_shared + self.generator_private[domain]:
            z = layer(z)
        return self.to_logits[domain](z)

    def discriminator_input(self, vector, domain: str, source=None):
        """What D_domain reads of ``vector``, a real or generated vector of ``domain``:
        the vector L2-normalised (``target``), or (``conditional``) the pair of it
        and ``source``, the same users' real clicks in the other domain, in domain
        order, each normalised on its own."""
        h = l2_normalize(vector)
        if self.config.discriminator_input == "target":
            return h
        source = l2_normalize(source)
        return ops.concatenate([h, source] if domain == "a" else [source, h], axis=-1)

    def discriminate(self, vector, domain: str, source=None):
        """D_domain's logit of :meth:`discriminator_input`."""
        h = self.discriminator_input(vector, domain, source)
        for layer in self.discriminators[domain]:
            h = layer(h)
        return h

    def discriminate_bag(self, bags: dict, domain: str):
        """:meth:`discriminate` of real clicks given as bags (``bags``: domain ->
        the same users' bag): the domain's bag, or the pair's bags side by side."""
        if self.config.discriminator_input == "target":
            positions, weights = self.normalized_bag(bags[domain])
        else:
            (pa, wa), (pb, wb) = (self.normalized_bag(bags[d]) for d in "ab")
            positions = ops.concatenate([pa, pb + self.num_items[0]], axis=-1)
            weights = ops.concatenate([wa, wb], axis=-1)
        h = dense_on_bag(self.discriminators[domain][0], positions, weights)
        for layer in self.discriminators[domain][1:]:
            h = layer(h)
        return h

    def as_clicks(self, logits):
        """Generated logits as a click-probability vector."""
        if self.config.reconstruction == "multinomial":
            return ops.softmax(logits, axis=-1)
        return ops.sigmoid(logits)

    def translate(self, inputs, source: int, target: int):
        """Scores over the target domain's items: G_target(E_source(x)) at the latent mean."""
        indices = self.preprocess(inputs)
        if self.reads_bags:
            mean = self.encode_bag(self.click_bag(indices, [source]), "ab"[source])
        else:
            mean = self.encode(self.click_vector(indices, source), "ab"[source])
        return self.generate(mean, "ab"[target])

    # -- training -----------------------------------------------------------
    def discriminator_variables(self):
        return [v for d in "ab" for layer in self.discriminators[d]
                for v in layer.trainable_variables]

    def _real_clicks(self, data, training) -> tuple:
        """The batch's real clicks, read once: each domain's latent mean, and
        functions of a domain for the discriminator's score of them, for its score
        of a generated vector of the same users, and for the mean log-likelihood
        of them under logits."""
        kind = self.config.reconstruction
        conditional = self.config.discriminator_input == "conditional"
        if self.reads_bags:
            inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            indices = self.preprocess(inputs)
            bags = {d: self.click_bag(indices, [k]) for k, d in enumerate("ab")}
            # A fake pair's source half: the other domain's clicks, dense.
            source = ({"a": self.click_vector(indices, 1), "b": self.click_vector(indices, 0)}
                      if conditional else {"a": None, "b": None})
            return ({d: self.encode_bag(bags[d], d, training=training) for d in "ab"},
                    lambda d: self.discriminate_bag(bags, d),
                    lambda d, vector: self.discriminate(vector, d, source[d]),
                    lambda d, logits: ops.mean(bag_reconstruction_log_likelihood(
                        kind, *bags[d], logits)))
        x = dict(zip("ab", self.click_vectors(data)))
        source = {"a": x["b"], "b": x["a"]}
        return ({d: self.encode(x[d], d, training=training) for d in "ab"},
                lambda d: self.discriminate(x[d], d, source[d]),
                lambda d, vector: self.discriminate(vector, d, source[d]),
                lambda d, logits: ops.mean(reconstruction_log_likelihood(kind, x[d], logits)))

    def compute_losses(self, data, training=True):
        cfg = self.config
        mean, real_score, fake_score, likelihood = self._real_clicks(data, training)
        z = {d: self.sample(mean[d], training=training) for d in "ab"}
        recon = {d: self.generate(z[d], d) for d in "ab"}
        translated = {"ab": self.generate(z["a"], "b"), "ba": self.generate(z["b"], "a")}
        kl = ops.mean(kl_standard_normal(mean["a"]) + kl_standard_normal(mean["b"]))
        reconstruction = -(likelihood("a", recon["a"]) + likelihood("b", recon["b"]))
        loss = cfg.lambda_1 * kl + cfg.lambda_2 * reconstruction
        gan = d_loss = ops.zeros(())
        if cfg.uses_gan:
            fake = {"a": self.as_clicks(translated["ba"]), "b": self.as_clicks(translated["ab"])}
            d_loss = ops.mean(sum(
                gan_discriminator_loss(cfg.gan_loss, real_score(d),
                                       fake_score(d, ops.stop_gradient(fake[d])))
                for d in "ab"))
            gan = ops.mean(sum(gan_generator_loss(cfg.gan_loss, fake_score(d, fake[d]))
                               for d in "ab"))
            loss = loss + cfg.lambda_0 * gan
        cycle = ops.zeros(())
        if cfg.uses_cycle:
            cycle_mean = {"ab": self.encode(self.as_clicks(translated["ab"]), "b", training),
                          "ba": self.encode(self.as_clicks(translated["ba"]), "a", training)}
            back = {"a": self.generate(self.sample(cycle_mean["ab"], training=training), "a"),
                    "b": self.generate(self.sample(cycle_mean["ba"], training=training), "b")}
            cycle_kl = kl + ops.mean(kl_standard_normal(cycle_mean["ab"])
                                     + kl_standard_normal(cycle_mean["ba"]))
            cycle = -(likelihood("a", back["a"]) + likelihood("b", back["b"]))
            loss = loss + cfg.lambda_3 * cycle_kl + cfg.lambda_4 * cycle
        translation = ops.zeros(())
        if cfg.translation_weight > 0:
            translation = -(likelihood("b", translated["ab"]) + likelihood("a", translated["ba"]))
            loss = loss + cfg.translation_weight * translation
        return {"loss": loss, "d_loss": d_loss, "kl": kl, "reconstruction": reconstruction,
                "gan": gan, "cycle": cycle, "translation": translation}
