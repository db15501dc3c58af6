"""tfxdr_pipelines: TFX-style pipelines for tfxdr on Apache Beam.

Components with typed inputs and outputs (examples, statistics, schema,
anomalies, ...), each runnable alone from the command line and together by a
local runner; every run of a component records its lineage and is reused when
its inputs, parameters and code are unchanged.  Installed from ``pipelines/``
as ``tfxdr_pipelines`` (the ``pipelines`` extra); the library ``tfxdr`` never
imports it.
"""
