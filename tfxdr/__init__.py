"""tfxdr: adversarial cross-domain and multi-domain recommendation in Keras 3.

The package is layered so that data flows one way: ``data`` (sources ->
interactions -> splits -> tf.data) feeds ``models``, whose scores feed
``metrics``; ``features`` describes what a model reads, and ``training`` and
``experiment`` tie them together for the command line.

``import tfxdr`` loads no TensorFlow; its subpackages load on first use, so the
command line checks its arguments in a fraction of a second.  Importing
``tfxdr.models`` registers tfxdr's layers and models with Keras, so that
``keras.saving.load_model`` restores a saved tfxdr model.
"""

import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_SUBPACKAGES = ("data", "export", "layers", "losses", "metrics", "models", "tasks")


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"tfxdr.{name}")
    raise AttributeError(f"module 'tfxdr' has no attribute {name!r}")
