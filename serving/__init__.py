"""tfxdr_serving: deploying tfxdr exports on TF Serving.

The model server config, the files TF Serving takes beside it, a client for its
gRPC and REST APIs, and a local server that speaks them for development and
tests.  Installed from ``serving/`` as ``tfxdr_serving``; the library ``tfxdr``
never imports it.
"""
