"""What every next-item model over behaviour sequences shares.

A request holds, per domain, a user's most recent raw item ids
(``items_<domain>``, [B, T], oldest first, left-padded with "" or -1; see
:mod:`tfxdr.tasks.sequences`).  The model reads the last ``max_len`` of them,
turns them into indices with its preprocessing layer and cuts the padding
every row shares, so a batch of short histories costs what its longest one
does.  ``score_next`` scores every known item of a domain as the user's next.
"""

from __future__ import annotations

import contextlib
import warnings

import keras
import tensorflow as tf
from keras import ops
from keras_hub.layers import TransformerDecoder, TransformerEncoder

from tfxdr.features import NUM_RESERVED, PAD_INDEX, items_input
from tfxdr.layers.sequence_embedding import SequenceEmbedding
from tfxdr.models.base import TfxdrModel


def trim_padding(tokens, minimum: int = 1):
    """``tokens`` [B, T] (left-padded with 0) without the leading columns that are
    padding in every row, keeping at least ``minimum`` columns."""
    width = ops.shape(tokens)[1]
    used = ops.max(ops.sum(ops.cast(ops.not_equal(tokens, PAD_INDEX), "int32"), axis=1))
    keep = ops.minimum(ops.maximum(used, minimum), width)
    return tokens[:, width - keep:]


def shift_right(tokens, start: int):
    """The decoder input of ``tokens`` (left-padded): each item moved one place
    later, the first item's place taken by the ``start`` token."""
    previous = ops.pad(tokens[:, :-1], [[0, 0], [1, 0]])
    return ops.where(ops.not_equal(previous, PAD_INDEX), previous,
                     ops.where(ops.not_equal(tokens, PAD_INDEX), start, PAD_INDEX))


@contextlib.contextmanager
def single_context():
    """Silences Keras' warning about a softmax over one key: attention to a one-vector
    context (the GUR) is meant to weigh it 1, as the paper's cross-attention does."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are using a softmax over axis",
                                category=UserWarning)
        yield


def traced_once(function):
    """``function`` of one dict of tensors, traced once: on the first call's keys and
    dtypes with every dimension open.  Evaluation batches differ in size and in each
    domain's padded length, and a trace per shape costs more than the scoring."""
    traced = None

    def call(inputs):
        nonlocal traced
        if traced is None:
            tensors = {name: tf.convert_to_tensor(value) for name, value in inputs.items()}
            signature = {name: tf.TensorSpec([None] * value.shape.rank, value.dtype, name=name)
                         for name, value in tensors.items()}
            traced = tf.function(function, input_signature=[signature])
        return traced(inputs)

    return call


class SequenceModel(TfxdrModel):
    """Base of the next-item models.  Subclasses implement ``score_next``."""

    def build(self, input_shape=None):
        super().build(input_shape)
        self.inputs_of = [items_input(d) for d in self.spec.domains]
        self.num_items = [len(self.spec[name].vocabulary) for name in self.inputs_of]
        self.sampler = keras.random.SeedGenerator(self.seed)

    @property
    def num_domains(self) -> int:
        return len(self.spec.domains)

    def tokens(self, inputs, domain: int, length: int):
        """Indices of the last ``length`` raw ids of ``domain`` in a request."""
        raw = inputs[self.inputs_of[domain]][:, -length:]
        return self.preprocessor.lookup(self.inputs_of[domain], raw)

    def transformer_encoders(self, name: str, num_layers: int | None = None,
                             num_heads: int | None = None) -> list:
        """``num_layers`` bidirectional transformer layers (default: the config's), built."""
        cfg = self.config
        layers = [TransformerEncoder(cfg.ffn_dim, num_heads or cfg.num_heads,
                                     dropout=cfg.dropout, activation=cfg.activation,
                                     name=f"{name}_{i}")
                  for i in range(cfg.num_layers if num_layers is None else num_layers)]
        for layer in layers:
            layer.build((None, None, cfg.dim))
        return layers

    def transformer_decoders(self, name: str, cross_attention: bool) -> list:
        """``num_layers`` causal transformer layers, with cross-attention to a
        one-vector context when ``cross_attention``, built."""
        cfg = self.config
        layers = [TransformerDecoder(cfg.ffn_dim, cfg.num_heads, dropout=cfg.dropout,
                                     activation=cfg.activation, name=f"{name}_{i}")
                  for i in range(cfg.num_layers)]
        for layer in layers:
            layer.build((None, None, cfg.dim), (None, 1, cfg.dim) if cross_attention else None)
        return layers

    def sequence_embeddings(self, num_extra: int, max_length: int) -> list:
        """One :class:`SequenceEmbedding` per domain, built."""
        cfg = self.config
        layers = [SequenceEmbedding(n, max_length, cfg.dim, num_extra, cfg.dropout,
                                    name=f"embedding_{k}") for k, n in enumerate(self.num_items)]
        for layer in layers:
            layer.build()
        return layers

    @staticmethod
    def item_scores(hidden, embedding: SequenceEmbedding):
        """[..., num_items]: hidden . I_v for every known item v (Eq. 11)."""
        return ops.matmul(hidden, ops.transpose(embedding.item_matrix()))

    @staticmethod
    def scores_of(hidden, embedding: SequenceEmbedding, items):
        """hidden . I_v for the item positions ``items`` ([..., n] -> [..., n])."""
        vectors = ops.take(embedding.item_matrix(), items, axis=0)
        return ops.sum(ops.expand_dims(hidden, -2) * vectors, axis=-1)

    def sample_items(self, shape, domain: int):
        """Uniform item positions of ``domain``, shape ``shape`` (negatives)."""
        return keras.random.randint(shape, 0, self.num_items[domain], seed=self.sampler)

    @staticmethod
    def item_positions(tokens):
        """Token indices -> item positions among the known items (padding -2, unknown -1)."""
        return tokens - NUM_RESERVED

    def score_next(self, inputs, domain: int):
        """[B, num_items] scores of ``domain``'s items as each user's next item."""
        raise NotImplementedError

    def next_item_scorer(self, domain: int):
        """``score_next`` of ``domain`` as a traced function: evaluation calls it on
        many batches, and a transformer run op by op is many times slower."""
        scorers = self.__dict__.setdefault("_scorers", {})
        if domain not in scorers:
            scorers[domain] = traced_once(lambda inputs: self.score_next(inputs, domain))
        return scorers[domain]

    def call(self, inputs, training=False):
        return self.score_next(inputs, self.num_domains - 1)
