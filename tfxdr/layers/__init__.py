"""Shared building blocks; they know no paper and no data loader."""

from tfxdr.layers.attention_pooling import AttentionPooling
from tfxdr.layers.bi_interaction import BiInteractionPooling
from tfxdr.layers.conve import ConvETranslation
from tfxdr.layers.deep_cross import DeepCross
from tfxdr.layers.domain_aware_embedding import DomainAwareEmbedding
from tfxdr.layers.domain_classifier import DomainClassifier
from tfxdr.layers.field_embedding import FieldEmbedding
from tfxdr.layers.field_gate import FieldGate
from tfxdr.layers.gated_cross import GatedCrossNetwork
from tfxdr.layers.gradient_reversal import GradientReversal, ReversalWarmup
from tfxdr.layers.id_dropout import UnknownIdDropout
from tfxdr.layers.multi_hot import MultiHot
from tfxdr.layers.preprocessing import FeaturePreprocessor
from tfxdr.layers.sampling import GaussianSample
from tfxdr.layers.sequence_embedding import SequenceEmbedding

__all__ = ["AttentionPooling", "BiInteractionPooling", "ConvETranslation", "DeepCross",
           "DomainAwareEmbedding", "DomainClassifier", "FeaturePreprocessor", "FieldEmbedding",
           "FieldGate",
           "GatedCrossNetwork", "GaussianSample", "GradientReversal", "MultiHot",
           "ReversalWarmup", "SequenceEmbedding", "UnknownIdDropout"]
