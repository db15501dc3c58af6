"""tfxdr: adversarial cross-domain and multi-domain recommendation in Keras 3.

The package is layered so that data flows one way: ``data`` (sources ->
interactions -> splits -> tf.data) feeds ``models``, whose scores feed
``metrics``.  ``training`` ties them together for the command line.
"""

__version__ = "0.1.0"
