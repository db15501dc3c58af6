"""Models: one module per paper or baseline, registered by name in :data:`MODELS`.

Importing this package registers every tfxdr layer and model with Keras, so that
``keras.saving.load_model`` restores a saved tfxdr model.  The configs live in
:mod:`tfxdr.hparams` (no TensorFlow) and are re-exported here.
"""

from tfxdr.hparams import (
    BERT4RecConfig,
    BPRMFConfig,
    CNANATConfig,
    D2DTMConfig,
    D2DTMPaperConfig,
    DADINConfig,
    DANNConfig,
    DANNDCNConfig,
    DCNConfig,
    DCNFineTuneConfig,
    DeepFMConfig,
    DINConfig,
    FMCtrConfig,
    LRConfig,
    MultiVAEConfig,
    PopConfig,
    RecGURUConfig,
    RecGURUSingleConfig,
    SASRecConfig,
    SequencePopConfig,
)
from tfxdr.models.base import Phase, TfxdrModel
from tfxdr.models.bert4rec import BERT4Rec
from tfxdr.models.bprmf import BPRMF
from tfxdr.models.closed_form import EASE, ItemKNN, Ridge
from tfxdr.models.cnan_at import CNANAT
from tfxdr.models.d2dtm import D2DTM
from tfxdr.models.dadin import DADIN
from tfxdr.models.dcn import DANNDCN, DCN
from tfxdr.models.deepfm import DeepFM, FMCtr
from tfxdr.models.din import DIN
from tfxdr.models.lr import LogisticRegression
from tfxdr.models.multivae import MultiVAE
from tfxdr.models.pop import Popularity
from tfxdr.models.pop_seq import SequencePopularity
from tfxdr.models.recguru import RecGURU
from tfxdr.models.sasrec import SASRec
from tfxdr.registry import MODELS, ModelSpec

__all__ = ["BERT4Rec", "BERT4RecConfig", "BPRMF", "BPRMFConfig", "CNANAT", "CNANATConfig", "D2DTM",
           "D2DTMConfig", "D2DTMPaperConfig", "DADIN", "DADINConfig", "DANNConfig", "DANNDCN",
           "DANNDCNConfig", "DCN", "DCNConfig", "DCNFineTuneConfig", "DeepFM", "DeepFMConfig",
           "DIN", "DINConfig", "EASE", "FMCtr", "FMCtrConfig", "ItemKNN", "LRConfig",
           "LogisticRegression", "MODELS", "ModelSpec", "MultiVAE",
           "MultiVAEConfig", "Phase", "PopConfig", "Popularity", "RecGURU", "RecGURUConfig",
           "RecGURUSingleConfig", "Ridge", "SASRec", "SASRecConfig", "SequencePopConfig",
           "SequencePopularity", "TfxdrModel"]
