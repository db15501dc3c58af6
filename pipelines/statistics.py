"""StatisticsGen: per-split, per-column statistics computed with Beam combiners.

Written as a ``DatasetFeatureStatisticsList`` (tensorflow-metadata's proto, as
text): one dataset per split, one feature per column with its type, present
and missing counts, and

- string columns: the number of distinct values and every value with its
  count (the vocabulary that new-id checks compare against);
- numeric columns: min, max, mean and standard deviation, and every value with
  its count as a one-value-per-bucket histogram when there are at most
  ``EXACT_VALUES`` distinct values (so rows out of a range can be counted).
"""

from __future__ import annotations

import collections
import math
from pathlib import Path

import apache_beam as beam
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import statistics_pb2

from tfxdr_pipelines.beam import make_pipeline
from tfxdr_pipelines.component import Component, Context
from tfxdr_pipelines.config import SPLITS
from tfxdr_pipelines.example_gen import EXAMPLE_FILES, split_dir

STATISTICS_FILE = "statistics.pbtxt"
EXACT_VALUES = 1000
EXAMPLES = "__examples__"
_TYPES = {"int": statistics_pb2.FeatureNameStatistics.INT,
          "float": statistics_pb2.FeatureNameStatistics.FLOAT,
          "bytes": statistics_pb2.FeatureNameStatistics.STRING}


def example_values(serialized: bytes) -> list[tuple[str, tuple[str, object]]]:
    """``(column, (kind, value))`` for every feature of one serialised Example, and
    one marker entry that counts the example."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example.FromString(serialized)
    out = [(EXAMPLES, ("count", 1))]
    for column, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values = getattr(feature, kind).value if kind else []
        for value in values:
            if kind == "bytes_list":
                out.append((column, ("bytes", value.decode("utf-8", "replace"))))
            else:
                out.append((column, ("int" if kind == "int64_list" else "float", value)))
    return out


class ColumnStatistics(beam.CombineFn):
    """Counts, kinds, numeric moments and value counts of one column."""

    def create_accumulator(self):
        return {"count": 0, "kinds": collections.Counter(), "min": math.inf, "max": -math.inf,
                "sum": 0.0, "sumsq": 0.0, "values": collections.Counter(), "exact": True}

    def add_input(self, acc, kind_value):
        kind, value = kind_value
        acc["count"] += 1
        acc["kinds"][kind] += 1
        if kind in ("int", "float"):
            acc["min"], acc["max"] = min(acc["min"], value), max(acc["max"], value)
            acc["sum"] += value
            acc["sumsq"] += value * value
        if acc["exact"]:
            acc["values"][value] += 1
            if kind != "bytes" and len(acc["values"]) > EXACT_VALUES:
                acc["values"], acc["exact"] = collections.Counter(), False
        return acc

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for acc in accumulators:
            merged["count"] += acc["count"]
            merged["kinds"].update(acc["kinds"])
            merged["min"], merged["max"] = min(merged["min"], acc["min"]), max(merged["max"],
                                                                              acc["max"])
            merged["sum"] += acc["sum"]
            merged["sumsq"] += acc["sumsq"]
            merged["exact"] = merged["exact"] and acc["exact"]
            if merged["exact"]:
                merged["values"].update(acc["values"])
        numeric = set(merged["kinds"]) - {"bytes"}
        if numeric and len(merged["values"]) > EXACT_VALUES:
            merged["values"], merged["exact"] = collections.Counter(), False
        return merged

    def extract_output(self, acc):
        return acc


def feature_statistics(column: str, acc: dict, examples: int
                       ) -> statistics_pb2.FeatureNameStatistics:
    """One column's accumulator as a ``FeatureNameStatistics``."""
    kind = max(acc["kinds"], key=("int", "float", "bytes").index)
    feature = statistics_pb2.FeatureNameStatistics(type=_TYPES[kind])
    feature.path.step.append(column)
    common = statistics_pb2.CommonStatistics(
        num_non_missing=acc["count"], num_missing=examples - acc["count"],
        min_num_values=1, max_num_values=1, avg_num_values=1.0, tot_num_values=acc["count"])
    ordered = sorted(acc["values"].items(), key=lambda item: (-item[1], str(item[0])))
    if kind == "bytes":
        feature.string_stats.common_stats.CopyFrom(common)
        feature.string_stats.unique = len(acc["values"])
        for value, count in ordered:
            feature.string_stats.top_values.add(value=str(value), frequency=count)
        return feature
    stats = feature.num_stats
    stats.common_stats.CopyFrom(common)
    count = acc["count"]
    stats.min, stats.max = acc["min"], acc["max"]
    stats.mean = acc["sum"] / count
    stats.std_dev = math.sqrt(max(acc["sumsq"] / count - stats.mean ** 2, 0.0))
    if acc["exact"]:
        histogram = stats.histograms.add(type=statistics_pb2.Histogram.STANDARD,
                                         name="values")
        for value, frequency in sorted(acc["values"].items()):
            histogram.buckets.add(low_value=value, high_value=value, sample_count=frequency)
    return feature


def dataset_statistics(split: str, columns: list) -> statistics_pb2.DatasetFeatureStatistics:
    """One split's ``(column, accumulator)`` pairs (and the example count) as a proto."""
    accumulators = dict(columns)
    examples = accumulators.pop(EXAMPLES, {"count": 0})["count"]
    dataset = statistics_pb2.DatasetFeatureStatistics(name=split, num_examples=examples)
    for column in sorted(accumulators):
        dataset.features.append(feature_statistics(column, accumulators[column], examples))
    return dataset


def compute_statistics(examples: Path, output: Path, beam_args: list) -> None:
    """Writes the statistics of every split of an ExampleGen output to ``output``
    (through Beam's IO, so a distributed runner writes it as well)."""
    with make_pipeline(beam_args) as pipeline:
        protos = []
        for split in SPLITS:
            pattern = str(split_dir(examples, split) / EXAMPLE_FILES)
            protos.append(pipeline
                          | f"Read{split}" >> beam.io.ReadFromTFRecord(pattern)
                          | f"Values{split}" >> beam.FlatMap(example_values)
                          | f"Combine{split}" >> beam.CombinePerKey(ColumnStatistics())
                          | f"List{split}" >> beam.combiners.ToList()
                          | f"Proto{split}" >> beam.Map(_serialized_dataset, split))
        (protos
         | "Flatten" >> beam.Flatten()
         | "All" >> beam.combiners.ToList()
         | "Text" >> beam.Map(_as_text)
         | "Write" >> beam.io.WriteToText(str(output), shard_name_template=""))


def _serialized_dataset(columns: list, split: str) -> bytes:
    return dataset_statistics(split, columns).SerializeToString()


def _as_text(serialized: list[bytes]) -> str:
    datasets = sorted((statistics_pb2.DatasetFeatureStatistics.FromString(s) for s in serialized),
                      key=lambda d: SPLITS.index(d.name))
    return text_format.MessageToString(
        statistics_pb2.DatasetFeatureStatisticsList(datasets=datasets))


def read_statistics(directory: Path) -> statistics_pb2.DatasetFeatureStatisticsList:
    return text_format.Parse((Path(directory) / STATISTICS_FILE).read_text(),
                             statistics_pb2.DatasetFeatureStatisticsList())


def _run(context: Context) -> None:
    compute_statistics(context.inputs["examples"],
                       context.outputs["statistics"] / STATISTICS_FILE, context.beam_args)


STATISTICS_GEN = Component(name="StatisticsGen", inputs={"examples": "ExampleGen.examples"},
                           outputs=("statistics",), parameters=lambda config: {}, run=_run)
