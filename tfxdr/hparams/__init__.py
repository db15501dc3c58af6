"""Every registered model's hyperparameters and registry entry, without TensorFlow.

One module per model family holds its config dataclass (the paper's defaults,
validated) and registers the model by name; the model classes themselves are
imported only when a model is built.  So ``tfxdr train`` resolves and checks
the model, every ``--set`` and the domain count before TensorFlow loads.
"""

from tfxdr.hparams.adversarial import AdversarialLossConfig
from tfxdr.hparams.aft import AFTConfig
from tfxdr.hparams.closed_form import EASEConfig, ItemKNNConfig, RidgeConfig
from tfxdr.hparams.cnan_at import CNANATConfig
from tfxdr.hparams.d2dtm import D2DTMConfig, D2DTMPaperConfig
from tfxdr.hparams.dadin import DADINConfig, DANNConfig
from tfxdr.hparams.dcn import DANNDCNConfig, DCNConfig, DCNFineTuneConfig
from tfxdr.hparams.deep_cross_base import GatedCrossConfig
from tfxdr.hparams.deepfm import DeepFMConfig, FMCtrConfig
from tfxdr.hparams.din import DINConfig
from tfxdr.hparams.lr import LRConfig
from tfxdr.hparams.matching import (BERT4RecMatchingConfig, FMConfig, MatchingConfig,
                                    MatchingPopConfig, MMoEConfig, SharedBottomConfig,
                                    TwoTowerConfig)
from tfxdr.hparams.multivae import MultiVAEConfig
from tfxdr.hparams.pop import PopConfig
from tfxdr.hparams.recguru import (BERT4RecConfig, BPRMFConfig, RecGURUConfig,
                                   RecGURUSingleConfig, SASRecConfig, SequencePopConfig,
                                   SequenceTransformerConfig)

__all__ = ["AdversarialLossConfig", "AFTConfig", "BERT4RecConfig", "BERT4RecMatchingConfig",
           "BPRMFConfig", "CNANATConfig", "D2DTMConfig", "D2DTMPaperConfig", "DADINConfig",
           "DANNConfig", "DANNDCNConfig", "DCNConfig", "DCNFineTuneConfig", "DeepFMConfig",
           "DINConfig", "EASEConfig", "FMConfig", "FMCtrConfig", "GatedCrossConfig",
           "ItemKNNConfig", "LRConfig",
           "MatchingConfig", "MatchingPopConfig", "MMoEConfig", "MultiVAEConfig", "PopConfig",
           "RecGURUConfig", "RecGURUSingleConfig", "RidgeConfig", "SASRecConfig",
           "SequencePopConfig", "SequenceTransformerConfig", "SharedBottomConfig", "TwoTowerConfig"]
