"""Models: one module per paper or baseline, registered by name in :data:`MODELS`."""

from tfxdr.models.multivae import MultiVAE, MultiVAEConfig
from tfxdr.models.pop import PopConfig, Popularity
from tfxdr.models.registry import MODELS, ModelSpec

__all__ = ["MODELS", "ModelSpec", "MultiVAE", "MultiVAEConfig", "PopConfig", "Popularity"]
