"""AFT: the generator's and discriminator's sizes, the losses' weights, ablations."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfxdr.config import LEARNING_RATE, LogUniform, TwoPlayerConfig, Uniform, require
from tfxdr.hparams.matching import MatchingConfig
from tfxdr.registry import register


@dataclasses.dataclass
class AFTConfig(TwoPlayerConfig, MatchingConfig):
    """AFT (Hao et al., CIKM 2021); see :mod:`tfxdr.models.aft`.

    Args:
        g_layers, g_heads: the generator's transformer over the domain features
            (4 x 8, the paper's).
        d_layers, d_heads: the discriminator's item-level and domain-level
            transformers (1 x 16).
        ffn_dim, dropout, activation: the transformers' feed-forward size, dropout
            and activation (the paper names none; 128, 0.1 and GELU are the
            authors' code's).
        mask_ratio: the share of the target domain's inputs the generator masks
            (Eq. 1, 0.15).
        num_fakes: k, the generator's top-k fake clicks per user and target (5);
            each counts once per positive of that target ("top-5 fake items for
            each positive instance", Sec. 3.4).
        conve_rows: u_g is a conve_rows x dim matrix ("16 x 64").
        conve_filters, conve_kernel: the translations' convolution (16 filters;
            the kernel, unnamed in the paper, ConvE's 3).
        conve_reduce: ``flatten`` (Eq. 9) or ``sum_rows`` (the authors' code).
        lambda_d, lambda_g, lambda_mmd: the weights of Eq. 16 (all 1).
        mmd_bandwidths: the Gaussian kernels' widths of L_MMD (the paper names
            none; a sum over widths needs none tuned to the embeddings' scale).
        d_reduction: ``pooled`` is Eq. 13, one mean over the real clicks and the
            negatives together; ``balanced`` the mean over the real clicks plus
            the mean over the negatives (unclicked and fake), the two classes
            weighed alike.  With one real click to some 25 negatives, the pooled
            mean is first minimised by scoring every item low, and on planted
            data the discriminator then sits at that constant for 20 epochs
            before it learns anything of the user (about 8 balanced).
        reward_baseline: ``none`` is Eq. 14: L_G = -mean p_g(fake) Q.  Every
            reward Q is positive, so every fake's p_g is pushed up, whichever
            the discriminator believes; ``mean`` subtracts each user's mean
            reward over its k fakes (a REINFORCE baseline), so that only the
            fakes the discriminator takes for clicks more than the others rise.
        domain_tokens: add each domain's embedding to its feature before the
            generator's transformer (the authors' code); Eq. 3 adds none (False),
            so the transformer tells the domains apart only by their item tables.
        d_steps, learning_rate, d_learning_rate: discriminator updates per
            generator update and both players' Adam step sizes; the paper names
            none of them (the authors' code: 5, 1e-4 and 5e-3).  The defaults, 1
            and 1e-3 for both, are the other matching models' step size and one
            discriminator pass per batch; each further step repeats its cost.
        pretrain_epochs: epochs that train the discriminator alone (real clicks
            against unclicked items) before the adversarial ones; neither
            validated nor selected, so the chosen checkpoint is adversarial.
        ablation: ``full``; ``aft_d`` the discriminator alone (the paper's AFT(D));
            ``aft_hnm`` the discriminator with its own ``num_fakes`` best-scored
            unclicked items as extra negatives instead of the generator's (hard
            negative mining, AFT(D+HNM), as keras-rs's HardNegativeMining picks
            them; Huang et al.'s offline recipe draws from ranks 101-500 of a
            catalogue of millions, which has no counterpart among a genre's few
            hundred items); ``no_mask`` no masked encoder;
            ``no_translation`` an attention over the item- and domain-level
            tokens instead of the two ConvE translations; ``no_mmd`` no
            dissimilarity loss.

    Search space: both players' step sizes (the paper names neither), the
    transformers' dropout and L_MMD's weight, a decade either side of the paper's 1.
    """

    g_layers: int = 4
    g_heads: int = 8
    d_layers: int = 1
    d_heads: int = 16
    ffn_dim: int = 128
    dropout: float = 0.1
    activation: Literal["gelu", "relu"] = "gelu"
    mask_ratio: float = 0.15
    num_fakes: int = 5
    conve_rows: int = 16
    conve_filters: int = 16
    conve_kernel: int = 3
    conve_reduce: Literal["flatten", "sum_rows"] = "flatten"
    lambda_d: float = 1.0
    lambda_g: float = 1.0
    lambda_mmd: float = 1.0
    mmd_bandwidths: tuple[float, ...] = (0.1, 1.0, 10.0)
    d_reduction: Literal["balanced", "pooled"] = "balanced"
    reward_baseline: Literal["none", "mean"] = "none"
    domain_tokens: bool = False
    pretrain_epochs: int = 0
    ablation: Literal["full", "aft_d", "aft_hnm", "no_mask", "no_translation", "no_mmd"] = "full"
    search_space = {"learning_rate": LEARNING_RATE, "d_learning_rate": LEARNING_RATE,
                    "dropout": Uniform(0.0, 0.3), "lambda_mmd": LogUniform(0.1, 10.0)}

    def validate(self) -> None:
        super().validate()
        for name in ("g_layers", "g_heads", "d_layers", "d_heads", "ffn_dim", "num_fakes",
                     "conve_rows", "conve_filters", "conve_kernel"):
            require(self, name, getattr(self, name) >= 1, "an integer >= 1")
        for name in ("g_heads", "d_heads"):
            require(self, "dim", self.dim % getattr(self, name) == 0,
                    f"a multiple of {name} ({getattr(self, name)})")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")
        require(self, "mask_ratio", 0.0 <= self.mask_ratio < 1.0, "a number in [0, 1)")
        for name in ("lambda_d", "lambda_g", "lambda_mmd"):
            require(self, name, getattr(self, name) >= 0, "a number >= 0")
        require(self, "mmd_bandwidths", bool(self.mmd_bandwidths)
                and all(b > 0 for b in self.mmd_bandwidths), "positive numbers")
        require(self, "pretrain_epochs", 0 <= self.pretrain_epochs < self.epochs,
                f"an integer in [0, epochs) ({self.epochs})")

    @property
    def uses_generator(self) -> bool:
        return self.ablation not in ("aft_d", "aft_hnm")

    @property
    def uses_translation(self) -> bool:
        return self.ablation != "no_translation"

    @property
    def effective_mask_ratio(self) -> float:
        return 0.0 if self.ablation == "no_mask" else self.mask_ratio

    @property
    def effective_lambda_mmd(self) -> float:
        return 0.0 if self.ablation == "no_mmd" else self.lambda_mmd


register("aft", "tfxdr.models.aft:AFT", AFTConfig, "matching",
         "AFT: adversarial feature translation, a GAN with a REINFORCE generator and a ConvE "
         "discriminator, multi-domain matching; ablations --set ablation=aft_d,aft_hnm,no_mask,"
         "no_translation,no_mmd")
