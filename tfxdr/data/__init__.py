"""Data layer: sources -> interactions -> splits -> tf.data examples.

Nothing here knows about models; models receive the requests built here.  The
names below load with their module on first use, so the parts that need no
TensorFlow (reading, checking and splitting data) can be used without it.
"""

import importlib

# Bound now: ``fetch`` and ``describe`` name both a module and its function, and the
# function must win (importing a submodule binds its name here, over a lazy one).
from tfxdr.data.describe import describe, format_description  # noqa: F401
from tfxdr.data.fetch import SOURCES, data_home, fetch  # noqa: F401

_HOMES = {
    "clicks": ("ClickRows", "click_bag_dataset", "click_rows"),
    "ctr": ("CtrInstances", "CtrOptions", "build_ctr_instances", "ctr_feature_spec"),
    "dataset": ("load_dataset",),
    "domains": ("Interactions", "parse_domains", "select_domains"),
    "matching": ("CutExamples", "HeldOutClicks", "cut_examples", "held_out_clicks"),
    "overlap": ("limit_overlap", "with_overlap_ratio"),
    "sequences": ("NextItemExamples", "earliest_rows", "histories_before",
                  "length_bucketed_order", "next_item_examples", "recent_rows",
                  "sequence_batches", "training_sequences"),
    "splits": ("SplitSpec", "load_split", "make_split", "save_split"),
    "table": ("RawDataset",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted([*_MODULE_OF, "SOURCES", "data_home", "describe", "fetch",
                  "format_description"])


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'tfxdr.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tfxdr.data.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value
