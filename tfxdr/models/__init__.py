"""Models: one module per paper or baseline, registered by name in :data:`MODELS`."""

from tfxdr.models.base import Phase, TfxdrModel
from tfxdr.models.cnan_at import CNANAT, CNANATConfig
from tfxdr.models.d2dtm import D2DTM, D2DTMConfig
from tfxdr.models.dadin import DADIN, DADINConfig, DANNConfig
from tfxdr.models.dcn import DANNDCN, DCN, DANNDCNConfig, DCNConfig, DCNFineTuneConfig
from tfxdr.models.din import DIN, DINConfig
from tfxdr.models.lr import LogisticRegression, LRConfig
from tfxdr.models.multivae import MultiVAE, MultiVAEConfig
from tfxdr.models.pop import PopConfig, Popularity
from tfxdr.models.registry import MODELS, ModelSpec

__all__ = ["CNANAT", "CNANATConfig", "D2DTM", "D2DTMConfig", "DADIN", "DADINConfig",
           "DANNConfig", "DANNDCN", "DANNDCNConfig", "DCN", "DCNConfig", "DCNFineTuneConfig",
           "DIN", "DINConfig", "LRConfig", "LogisticRegression", "MODELS", "ModelSpec",
           "MultiVAE", "MultiVAEConfig", "Phase", "PopConfig", "Popularity", "TfxdrModel"]
