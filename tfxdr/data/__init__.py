"""Data layer: sources -> interactions -> splits -> tf.data examples.

Nothing here knows about models; models receive the requests built here.
"""

from tfxdr.data.clicks import ClickRows, click_bag_dataset, click_rows
from tfxdr.data.ctr import CtrInstances, CtrOptions, build_ctr_instances, ctr_feature_spec
from tfxdr.data.dataset import load_dataset
from tfxdr.data.describe import describe, format_description
from tfxdr.data.domains import Interactions, parse_domains, select_domains
from tfxdr.data.fetch import SOURCES, data_home, fetch
from tfxdr.data.sequences import SequenceExamples, build_sequences
from tfxdr.data.splits import SplitSpec, load_split, make_split, save_split
from tfxdr.data.table import RawDataset
from tfxdr.data.vocab import Vocabularies, Vocabulary

__all__ = [
    "ClickRows", "CtrInstances", "CtrOptions", "Interactions", "RawDataset", "SOURCES",
    "SequenceExamples", "SplitSpec", "Vocabularies", "Vocabulary", "build_ctr_instances",
    "build_sequences", "click_bag_dataset", "click_rows", "ctr_feature_spec", "data_home",
    "describe", "fetch", "format_description", "load_dataset", "load_split", "make_split",
    "parse_domains", "save_split", "select_domains",
]
