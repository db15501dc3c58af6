"""Shared building blocks; they know no paper and no data loader."""

from tfxdr.layers.sampling import GaussianSample

__all__ = ["GaussianSample"]
