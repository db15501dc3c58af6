"""D2D-TM: the VAE-GAN's layer sizes, loss weights and ablations (see tfxdr.models.d2dtm)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfxdr.config import (AdamUpdateConfig, ClickInputsConfig, TrainConfig, TwoPlayerConfig,
                          require)
from tfxdr.registry import register

PRESETS = {
    # name: (private encoder / generator layers, shared layers), the paper's Sec. 4.3
    "small": ((200,), (100,)),   # MovieLens: I-200-100-50-100-200-I
    "large": ((600,), (200,)),   # Amazon:    I-600-200-50-200-600-I
}
ABLATIONS = ("full", "vae_cc", "vae_gan", "vae")


@dataclasses.dataclass
class D2DTMConfig(AdamUpdateConfig, ClickInputsConfig, TwoPlayerConfig, TrainConfig):
    """Hyperparameters; lambda_0..lambda_4 weight Eq. 1-7.

    Args:
        preset: ``small`` (MovieLens sizes), ``large`` (Amazon sizes) or ``auto``:
            ``large`` when either domain has at least ``large_min_items`` items.
        private_dims / shared_dims: override the preset's layer sizes.
        latent_dim: size of z (50 in the paper).
        input_dropout: dropout on the input layer (the paper adds it for
            sparse data).
        discriminator_dims: tanh hidden layers of D_A and D_B.
        gan_loss: ``log`` (Eq. 4-5) or ``lsq`` (least squares).
        reconstruction: ``multinomial`` (the paper), ``logistic`` or ``square``
            (Figure 6).
        ablation: ``full``, ``vae_cc`` (no GAN), ``vae_gan`` (no cycle
            consistency), ``vae`` (neither).
        lambda_0: GAN weight.  lambda_1 / lambda_2: KL and likelihood of the
            VAE streams.  lambda_3 / lambda_4: KL and likelihood of the cycle.
        translation_weight: paired translation likelihood (not in the paper).
        d_learning_rate, d_steps: the discriminators' Adam step size and their
            updates per encoder/generator update.
        click_inputs: real clicks as bags or dense vectors (see
            :class:`~tfxdr.config.ClickInputsConfig`); the generated vectors the
            cycle encodes and the discriminators judge are dense either way, so
            bags save only the real clicks' first layers: ``dense`` by default,
            as bags measured no faster (1.13 of the dense step at 30,800 + 39,000
            items, batch 128, on a busy machine; ``benchmarks/click_step.py
            --model d2dtm``).
        adam_update: Keras's or TensorFlow's fused Adam update (see
            :class:`~tfxdr.config.AdamUpdateConfig`; fused from 10,000 items).

    Defaults not given by the paper were chosen on the validation users of
    ML-1M Drama/Comedy (seed 0): the losses are per-user sums over items, so
    the likelihood weights are 1 and the KL weights small (0.02; unit-variance
    KL is 0.5 ||mean||^2); GAN weight 0.1; batch 128.  With the paper's
    objective alone (``translation_weight=0``) the translation is unpaired and
    ranked no better than popularity on validation (Recall@50 0.36 / 0.39):
    nothing ties a user's x_A to the same user's x_B.  ``translation_weight=3``
    was the best of {0, 1, 3} there, so it is the default.
    """

    preset: Literal["auto", "small", "large"] = "auto"
    large_min_items: int = 5000
    private_dims: tuple[int, ...] = ()
    shared_dims: tuple[int, ...] = ()
    latent_dim: int = 50
    input_dropout: float = 0.5
    discriminator_dims: tuple[int, ...] = (100,)
    gan_loss: Literal["log", "lsq"] = "log"
    reconstruction: Literal["multinomial", "logistic", "square"] = "multinomial"
    ablation: Literal["full", "vae_cc", "vae_gan", "vae"] = "full"
    lambda_0: float = 0.1
    lambda_1: float = 0.02
    lambda_2: float = 1.0
    lambda_3: float = 0.02
    lambda_4: float = 1.0
    translation_weight: float = 3.0
    d_learning_rate: float | None = 1e-3
    click_inputs: Literal["auto", "bags", "dense"] = "dense"
    epochs: int = 100
    batch_size: int = 128
    learning_rate: float = 1e-3

    def validate(self) -> None:
        super().validate()
        require(self, "latent_dim", self.latent_dim >= 1, "an integer >= 1")
        require(self, "input_dropout", 0.0 <= self.input_dropout < 1.0, "a number in [0, 1)")
        for name in ("lambda_0", "lambda_1", "lambda_2", "lambda_3", "lambda_4",
                     "translation_weight"):
            require(self, name, getattr(self, name) >= 0.0, "a number >= 0")

    def layer_sizes(self, num_items_a: int, num_items_b: int) -> tuple[tuple, tuple]:
        """(private, shared) hidden sizes after resolving the preset."""
        preset = self.preset
        if preset == "auto":
            preset = "large" if max(num_items_a, num_items_b) >= self.large_min_items else "small"
        private, shared = PRESETS[preset]
        return self.private_dims or private, self.shared_dims or shared

    @property
    def uses_gan(self) -> bool:
        return self.ablation in ("full", "vae_gan") and self.lambda_0 > 0

    @property
    def uses_cycle(self) -> bool:
        return self.ablation in ("full", "vae_cc")


register("d2dtm", "tfxdr.models.d2dtm:D2DTM", D2DTMConfig, "clicks",
         "D2D-TM: VAE-GAN with cycle consistency, domain-to-domain translation",
         min_domains=2, max_domains=2)
