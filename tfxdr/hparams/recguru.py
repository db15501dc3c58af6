"""RecGURU and the sequential baselines: transformer sizes, phases, losses, ablations."""

from __future__ import annotations

import dataclasses
from typing import Literal

from tfxdr.config import (LEARNING_RATE, Choice, LogUniform, TrainConfig, TwoPlayerConfig,
                          Uniform, require)
from tfxdr.registry import register

ABLATIONS = ("full", "no_critic", "no_l2", "no_autoencoder", "single")


@dataclasses.dataclass
class SequenceTransformerConfig(TrainConfig):
    """What every transformer over behaviour sequences shares.

    Args:
        max_len: N, the most recent items a model reads per domain (100 in the paper).
        dim: d, the size of item, position and hidden vectors (64).
        num_layers: transformer layers of each encoder and decoder (3 on Amazon).
        num_heads: attention heads (2).
        ffn_dim: the feed-forward layers' size (512).
        dropout: dropout on embeddings, attention and feed-forward outputs.
        activation: the feed-forward activation.
        batch_size: users per step (each brings a sequence of every domain it has).

    The paper names neither dropout nor activation (the authors' code uses 0.5
    and GELU).  With no dropout and ReLU, RecGURU's steps on ML-1M Drama/Comedy
    run 1.4x (pre-training) to 1.8x (fine-tuning) faster than with 0.2 and GELU,
    and hold 1.7 GB less activation memory, which is what lets the whole
    schedule run within 15 minutes and 4 GB on two cores
    (benchmarks/recguru_speed.py); early stopping on validation guards against
    over-fitting instead.

    Search space: the step size, the dropout (SASRec chose it per dataset) and the
    batch; the sizes are the paper's, shared by its baselines.
    """

    max_len: int = 100
    dim: int = 64
    num_layers: int = 3
    num_heads: int = 2
    ffn_dim: int = 512
    dropout: float = 0.0
    activation: Literal["gelu", "relu"] = "relu"
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3
    patience: int = 5
    search_space = {"learning_rate": LEARNING_RATE, "dropout": Uniform(0.0, 0.5),
                    "batch_size": Choice((64, 128, 256))}

    def validate(self) -> None:
        super().validate()
        for name in ("max_len", "dim", "num_layers", "num_heads", "ffn_dim"):
            require(self, name, getattr(self, name) >= 1, "an integer >= 1")
        require(self, "dim", self.dim % self.num_heads == 0,
                f"a multiple of num_heads ({self.num_heads})")
        require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")


@dataclasses.dataclass
class RecGURUConfig(TwoPlayerConfig, SequenceTransformerConfig):
    """RecGURU's phases (Algorithm 1) and loss weights; see :mod:`tfxdr.models.recguru`.

    Args:
        pretrain_epochs: phase 1, the autoencoders' reconstruction (Eq. 5).
        adversarial_epochs: phase 2, critic and generator (Eq. 13).  The epochs
            after these fine-tune CDSRec (phase 3, Eq. 12), validated and selected.
            On ML-1M's 6,000 users (48 steps an epoch) the defaults give 144
            pre-training and 144 adversarial steps (the authors' code runs 200 and
            180) and 8 fine-tuning epochs: the schedule that fits 15 minutes on
            two cores.  Patience is 5, as for SASRec: fine-tuning's validation
            score can sit level for three or four epochs before it rises (on ML-1M
            Drama/Comedy, seed 1 stopped on that plateau with patience 3).
        pretrain_learning_rate: phase 1's Adam step size (betas 0.9, 0.98).
        adversarial_learning_rate: the generator's Adam in phase 2 (betas 0.5, 0.9);
            ``d_learning_rate`` the critic's (same betas), ``d_steps`` its updates per
            generator update (CRITIC_ITERS, 5).  ``learning_rate`` is phase 3's
            (betas 0.9, 0.9), the supplement's values.
        gp_weight: the gradient penalty's lambda (0.1, the authors' value).
        l2_weight: weight of Eq. 9 on users present in both domains.
        critic_layers / critic_dim: the critic's fully connected layers and their
            width (4 and 128).
        short_term_len: m, the recent items CDSRec attends over (None: max_len).
        bpr_negatives: sampled negatives per position in Eq. 12 (5, as the authors).
        finetune_loss: ``bce`` (the default), each sampled negative's own binary
            cross-entropy, averaged (SASRec's loss, which it is with one negative); or
            ``eq12``, Eq. 12 as written, the negatives' scores averaged before the
            sigmoid, which leaves a high-scoring negative unpunished while the others
            are low (on ML-1M Drama/Comedy it fine-tunes far more slowly:
            docs/results/recguru_ml1m.md).
        finetune_context: the GUR CDSRec attends to in fine-tuning.  ``prefix`` (the
            default) encodes a random prefix of each training sequence and trains only
            the positions whose targets come after it; ``full`` encodes the whole
            training sequence for every position (Eq. 10 read over the sequence, as
            the authors' code trains), which shows CDSRec the items it is asked to
            predict at every position but the last.
        reconstruction_negatives: n > 0 scores Eq. 5's softmax over the next item and
            n uniform negatives per position (the supplement's sampled softmax, 20 on
            public data, the default); 0 over all the domain's items, Eq. 5 exactly.
        ablation: ``full``; ``no_critic`` or ``no_l2`` drop that term of Eq. 13;
            ``no_autoencoder`` is SeqRec (CDSRec alone, no user representation,
            every epoch fine-tunes); ``single`` is the paper's AutoRec (one encoder
            per domain, no critic, no l2).

    Search space: the fine-tuning and pre-training step sizes, the dropout and the
    weight of Eq. 9, a decade either side of 1; the critic's schedule is the authors'.
    """

    pretrain_epochs: int = 3
    adversarial_epochs: int = 3
    epochs: int = 14
    pretrain_learning_rate: float = 1e-3
    adversarial_learning_rate: float = 1e-4
    d_learning_rate: float | None = 1e-4
    d_steps: int = 5
    gp_weight: float = 0.1
    l2_weight: float = 1.0
    critic_layers: int = 4
    critic_dim: int = 128
    short_term_len: int | None = None
    bpr_negatives: int = 5
    finetune_loss: Literal["bce", "eq12"] = "bce"
    finetune_context: Literal["prefix", "full"] = "prefix"
    reconstruction_negatives: int = 20
    ablation: Literal["full", "no_critic", "no_l2", "no_autoencoder", "single"] = "full"
    search_space = {"learning_rate": LEARNING_RATE, "pretrain_learning_rate": LEARNING_RATE,
                    "dropout": Uniform(0.0, 0.5), "l2_weight": LogUniform(0.1, 10.0)}

    def validate(self) -> None:
        super().validate()
        for name in ("pretrain_epochs", "adversarial_epochs", "reconstruction_negatives"):
            require(self, name, getattr(self, name) >= 0, "an integer >= 0")
        require(self, "epochs", self.epochs > self.pretrain_epochs + self.adversarial_epochs,
                "more than pretrain_epochs + adversarial_epochs "
                f"({self.pretrain_epochs + self.adversarial_epochs}): the epochs after them "
                "fine-tune")
        for name in ("pretrain_learning_rate", "adversarial_learning_rate"):
            require(self, name, getattr(self, name) > 0, "a finite number > 0")
        for name in ("gp_weight", "l2_weight"):
            require(self, name, getattr(self, name) >= 0, "a number >= 0")
        for name in ("critic_layers", "critic_dim", "bpr_negatives"):
            require(self, name, getattr(self, name) >= 1, "an integer >= 1")
        if self.short_term_len is not None:
            require(self, "short_term_len", 1 <= self.short_term_len <= self.max_len,
                    f"an integer in [1, max_len={self.max_len}] or none")

    @property
    def uses_critic(self) -> bool:
        return self.ablation in ("full", "no_l2")

    @property
    def uses_l2(self) -> bool:
        return self.ablation in ("full", "no_critic") and self.l2_weight > 0

    @property
    def uses_autoencoder(self) -> bool:
        return self.ablation != "no_autoencoder"


@dataclasses.dataclass
class RecGURUSingleConfig(RecGURUConfig):
    """The paper's AutoRec: RecGURU's autoencoder and CDSRec, one per domain (no
    Eq. 9 to weigh in its search space)."""

    ablation: Literal["full", "no_critic", "no_l2", "no_autoencoder", "single"] = "single"
    search_space = {"learning_rate": LEARNING_RATE, "pretrain_learning_rate": LEARNING_RATE,
                    "dropout": Uniform(0.0, 0.5)}


@dataclasses.dataclass
class SASRecConfig(SequenceTransformerConfig):
    """SASRec: causal self-attention, one negative per position (binary cross-entropy).

    Sizes default to RecGURU's, as the paper sets shared sizes for its baselines."""


@dataclasses.dataclass
class BERT4RecConfig(SequenceTransformerConfig):
    """BERT4Rec: a bidirectional transformer that fills in masked items.

    Args:
        mask_prob: the share of training items replaced by [mask] (0.2, the
            BERT4Rec paper's value on MovieLens-1M); the last item always is.
    Sizes default to RecGURU's, as the paper sets shared sizes for its baselines.
    The mask share joins the search space: the BERT4Rec paper chose it per dataset."""

    mask_prob: float = 0.2
    search_space = {**SequenceTransformerConfig.search_space, "mask_prob": Uniform(0.1, 0.6)}

    def validate(self) -> None:
        super().validate()
        require(self, "mask_prob", 0.0 < self.mask_prob < 1.0, "a number in (0, 1)")


@dataclasses.dataclass
class BPRMFConfig(TrainConfig):
    """BPR-MF: ``dim``-dimensional users and items; ``l2`` weighs their squared norms.

    ``max_len`` + 1 of each user's most recent training items per domain are the
    positives (the sequence task's rows).  Search space: the step size, the batch and
    BPR's regularisation weight."""

    max_len: int = 100
    dim: int = 64
    l2: float = 0.0
    epochs: int = 50
    batch_size: int = 128
    patience: int = 5
    search_space = {"learning_rate": LEARNING_RATE, "l2": LogUniform(1e-8, 1e-4),
                    "batch_size": Choice((64, 128, 256))}

    def validate(self) -> None:
        super().validate()
        require(self, "max_len", self.max_len >= 1, "an integer >= 1")
        require(self, "dim", self.dim >= 1, "an integer >= 1")
        require(self, "l2", self.l2 >= 0, "a number >= 0")


@dataclasses.dataclass
class SequencePopConfig(TrainConfig):
    """One counting pass over the training sequences (each user's last ``max_len`` + 1
    items per domain); nothing else to tune."""

    max_len: int = 100
    epochs: int = 1
    batch_size: int = 512

    def validate(self) -> None:
        super().validate()
        require(self, "max_len", self.max_len >= 1, "an integer >= 1")


register("recguru", "tfxdr.models.recguru:RecGURU", RecGURUConfig, "sequences",
         "RecGURU: shared transformer autoencoder + WGAN-GP critic, cross-domain sequential",
         min_domains=2, max_domains=2)
register("recguru_single", "tfxdr.models.recguru:RecGURU", RecGURUSingleConfig, "sequences",
         "RecGURU's single-domain variant (AutoRec: autoencoder + CDSRec per domain)",
         min_domains=2, max_domains=2)
register("sasrec", "tfxdr.models.sasrec:SASRec", SASRecConfig, "sequences",
         "SASRec: causal self-attention per domain (single-domain baseline)")
register("bert4rec", "tfxdr.models.bert4rec:BERT4Rec", BERT4RecConfig, "sequences",
         "BERT4Rec: bidirectional transformer, masked-item training, one per domain (baseline)")
register("bprmf", "tfxdr.models.bprmf:BPRMF", BPRMFConfig, "sequences",
         "BPR-MF: matrix factorisation with pairwise ranking, users shared by the domains "
         "(baseline)")
register("pop_seq", "tfxdr.models.pop_seq:SequencePopularity", SequencePopConfig, "sequences",
         "popularity of each domain's items, for next-item recommendation (baseline)")
