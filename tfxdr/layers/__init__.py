"""Shared building blocks; they know no paper and no data loader."""

from tfxdr.layers.attention_pooling import AttentionPooling
from tfxdr.layers.bi_interaction import BiInteractionPooling
from tfxdr.layers.deep_cross import DeepCross
from tfxdr.layers.domain_aware_embedding import DomainAwareEmbedding
from tfxdr.layers.domain_classifiers import DomainClassifiers
from tfxdr.layers.field_embedding import FieldEmbedding
from tfxdr.layers.field_gate import FieldGate
from tfxdr.layers.gradient_reversal import GradientReversal
from tfxdr.layers.sampling import GaussianSample

__all__ = ["AttentionPooling", "BiInteractionPooling", "DeepCross", "DomainAwareEmbedding",
           "DomainClassifiers", "FieldEmbedding", "FieldGate", "GaussianSample",
           "GradientReversal"]
