"""tfxdr: adversarial cross-domain and multi-domain recommendation in Keras 3.

The package is layered so that data flows one way: ``data`` (sources ->
interactions -> splits -> tf.data) feeds ``models``, whose scores feed
``metrics``; ``features`` describes what a model reads, and ``training`` and
``experiment`` tie them together for the command line.

Importing ``tfxdr`` registers its layers and models with Keras, so that
``keras.saving.load_model`` restores a saved tfxdr model.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from tfxdr import layers, models  # noqa: E402,F401  (registers them for keras.saving)
