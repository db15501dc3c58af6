"""Models: one module per paper or baseline, registered by name in :data:`MODELS`.

Importing this package registers every tfxdr layer and model with Keras, so that
``keras.saving.load_model`` restores a saved tfxdr model.  The configs live in
:mod:`tfxdr.hparams` (no TensorFlow) and are re-exported here.
"""

from tfxdr.hparams import (
    CNANATConfig,
    D2DTMConfig,
    DADINConfig,
    DANNConfig,
    DANNDCNConfig,
    DCNConfig,
    DCNFineTuneConfig,
    DINConfig,
    LRConfig,
    MultiVAEConfig,
    PopConfig,
)
from tfxdr.models.base import Phase, TfxdrModel
from tfxdr.models.cnan_at import CNANAT
from tfxdr.models.d2dtm import D2DTM
from tfxdr.models.dadin import DADIN
from tfxdr.models.dcn import DANNDCN, DCN
from tfxdr.models.din import DIN
from tfxdr.models.lr import LogisticRegression
from tfxdr.models.multivae import MultiVAE
from tfxdr.models.pop import Popularity
from tfxdr.registry import MODELS, ModelSpec

__all__ = ["CNANAT", "CNANATConfig", "D2DTM", "D2DTMConfig", "DADIN", "DADINConfig",
           "DANNConfig", "DANNDCN", "DANNDCNConfig", "DCN", "DCNConfig", "DCNFineTuneConfig",
           "DIN", "DINConfig", "LRConfig", "LogisticRegression", "MODELS", "ModelSpec",
           "MultiVAE", "MultiVAEConfig", "Phase", "PopConfig", "Popularity", "TfxdrModel"]
