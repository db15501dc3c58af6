"""Transform: tf.Transform on Beam turns raw rows into the indices models train on.

The analyzers run over the train split only: one vocabulary of the items of
every domain (``items``, most frequent first), so that an item listed in two
domains has one index, as it has one raw id.  The transform maps a row's item
to ``2 + its position`` in the vocabulary, ``1`` when train never saw it
(tfxdr's unknown index; 0 is padding), and keeps the user, the domain and the
raw item id as they are.  Every split is transformed by the same
graph; the graph (``transform_graph``, tf.Transform's output directory) is
what the trainer reads beside the transformed examples and what the export
puts in front of the model, so training and serving map a raw id the same way.

Outputs: ``transform_graph/`` and ``transformed_examples/Split-<name>/``.
"""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam

from tfxdr.features import NUM_RESERVED, UNKNOWN_INDEX
from tfxdr_pipelines.beam import make_pipeline, shared_temp_dir
from tfxdr_pipelines.component import Component, Context
from tfxdr_pipelines.config import SPLITS, PipelineConfig
from tfxdr_pipelines.example_gen import EXAMPLE_FILES, split_dir
from tfxdr_pipelines.schema import SCHEMA_FILE, read_schema

USER, ITEM, DOMAIN = "user_id", "item_id", "domain"
ITEM_INDEX = "item_index"
ITEMS_VOCABULARY = "items"
RAW_COLUMNS = (USER, ITEM, DOMAIN)  # what the transform reads; other columns stay behind


def pipeline_domains(config: PipelineConfig, schema) -> tuple[str, ...]:
    """The config's domains, else the values of the schema's ``domain`` column."""
    if config.data.domains:
        return tuple(config.data.domains)
    for domain in schema.string_domain:
        if domain.name == DOMAIN:
            return tuple(domain.value)
    return ()


def preprocessing_fn(inputs):
    """The tf.Transform function: items to indices, the rest passed through."""
    import tensorflow as tf
    import tensorflow_transform as tft

    item = inputs[ITEM][:, 0]
    known = tft.apply_vocabulary(item, tft.vocabulary(item, vocab_filename=ITEMS_VOCABULARY),
                                 default_value=-1)
    index = tf.where(known >= 0, known + NUM_RESERVED, tf.constant(UNKNOWN_INDEX, tf.int64))
    return {USER: inputs[USER][:, 0], DOMAIN: inputs[DOMAIN][:, 0], ITEM: item,
            ITEM_INDEX: index}


def raw_schema(schema):
    """The schema restricted to the columns the transform reads, so that the
    graph's (and the serving signature's) inputs are exactly those."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    kept = schema_pb2.Schema()
    kept.CopyFrom(schema)
    del kept.feature[:]
    kept.feature.extend(f for f in schema.feature if f.name in RAW_COLUMNS)
    return kept


def _run(context: Context) -> None:
    import tensorflow_transform.beam as tft_beam
    from tfx_bsl.public import tfxio

    schema = raw_schema(read_schema(context.inputs["schema"] / SCHEMA_FILE))
    domains = pipeline_domains(context.config, schema)
    context.notes["domains"] = list(domains)
    examples, graph = context.inputs["examples"], context.outputs["transform_graph"]
    transformed = context.outputs["transformed_examples"]
    shards = context.config.split.shards
    with shared_temp_dir(context.beam_args, context.output_root) as scratch, \
            make_pipeline(context.beam_args) as pipeline, tft_beam.Context(temp_dir=scratch):
        sources = {split: tfxio.TFExampleRecord(
            file_pattern=str(split_dir(examples, split) / EXAMPLE_FILES), schema=schema)
            for split in SPLITS}
        raw = {split: pipeline | f"Read{split}" >> source.BeamSource()
               for split, source in sources.items()}
        config = sources["train"].TensorAdapterConfig()
        transform_fn = ((raw["train"], config)
                        | "Analyze" >> tft_beam.AnalyzeDataset(preprocessing_fn))
        transform_fn | "WriteGraph" >> tft_beam.WriteTransformFn(str(graph))
        for split in SPLITS:
            ((raw[split], config), transform_fn) \
                | f"Transform{split}" >> tft_beam.TransformDataset(output_record_batches=True) \
                | f"Encode{split}" >> tft_beam.EncodeTransformedDataset() \
                | f"Write{split}" >> beam.io.WriteToTFRecord(
                    str(split_dir(transformed, split) / "data"),
                    file_name_suffix=".tfrecord.gz", num_shards=shards)


TRANSFORM = Component(
    name="Transform",
    inputs={"examples": "ExampleGen.examples", "schema": "SchemaGen.schema"},
    outputs=("transform_graph", "transformed_examples"),
    parameters=lambda config: {"domains": list(config.data.domains)},
    run=_run)


def read_graph(directory: Path):
    """The transform graph of a Transform run, as tf.Transform's output object."""
    import tensorflow_transform as tft

    return tft.TFTransformOutput(str(directory))
