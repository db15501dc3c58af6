"""SchemaGen and ExampleValidator: a schema inferred once, then every split checked.

The schema is tensorflow-metadata's ``Schema`` proto, as text, at
``[validation] schema`` (default ``OUTPUT/schema.pbtxt``).  When that file does
not exist, SchemaGen infers it from the train split's statistics and writes it
there for review; when it exists (a later run, or a curated file), it is used
as it is: that is what "inferred once, then checked" means, and editing it is
how a team tightens or loosens the checks.

Inferred: each column's type; presence (a column present in every train row is
required); the values of ``domain`` and of any other string column with at most
``max_categories`` values, except the id columns; the train range of each
``range_columns`` column.

ExampleValidator checks every split's statistics against the schema and
against train's ids.  Each anomaly is one line naming the column, the split
and the number of rows: a required column missing, a type change, values
outside a column's domain or range, too many held-out rows with ids train
never saw, a column the schema does not know.  They are written as an
``Anomalies`` proto; any anomaly stops the pipeline before training.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from tfxdr.io import write_text
from tfxdr_pipelines.component import Component, Context, Execution, file_fingerprints, latest
from tfxdr_pipelines.config import PipelineConfig, resolve_path
from tfxdr_pipelines.errors import AnomaliesFound, PipelineError
from tfxdr_pipelines.statistics import read_statistics

SCHEMA_FILE = "schema.pbtxt"
ANOMALIES_FILE = "anomalies.pbtxt"
_FEATURE_TYPE = {statistics_pb2.FeatureNameStatistics.INT: schema_pb2.INT,
                 statistics_pb2.FeatureNameStatistics.FLOAT: schema_pb2.FLOAT,
                 statistics_pb2.FeatureNameStatistics.STRING: schema_pb2.BYTES}
_TYPE_NAME = {schema_pb2.INT: "INT", schema_pb2.FLOAT: "FLOAT", schema_pb2.BYTES: "BYTES"}


def schema_path(config: PipelineConfig, output_root: Path) -> Path:
    """Where the curated schema lives."""
    if config.validation.schema:
        return resolve_path(config, config.validation.schema)
    return Path(output_root) / SCHEMA_FILE


def _features(dataset: statistics_pb2.DatasetFeatureStatistics) -> dict:
    return {f.path.step[0]: f for f in dataset.features}


def _common(feature: statistics_pb2.FeatureNameStatistics):
    return (feature.string_stats if feature.type == feature.STRING else feature.num_stats
            ).common_stats


def _value_counts(feature: statistics_pb2.FeatureNameStatistics) -> dict | None:
    """Value -> rows, from a string column's values or a numeric column's exact
    histogram; None when the statistics hold no exact counts."""
    if feature.type == feature.STRING:
        return {v.value: int(v.frequency) for v in feature.string_stats.top_values}
    for histogram in feature.num_stats.histograms:
        if histogram.name == "values":
            return {b.low_value: int(b.sample_count) for b in histogram.buckets}
    return None


def infer_schema(statistics: statistics_pb2.DatasetFeatureStatisticsList,
                 config: PipelineConfig) -> schema_pb2.Schema:
    """The schema of the train split's statistics (see the module's docstring)."""
    train = _split(statistics, "train")
    validation = config.validation
    schema = schema_pb2.Schema()
    for name, stats in sorted(_features(train).items()):
        feature = schema.feature.add(name=name, type=_FEATURE_TYPE[stats.type])
        present = _common(stats).num_non_missing
        feature.presence.min_count = 1
        if present == train.num_examples:
            # Required: a dense [rows, 1] tensor for tf.Transform.
            feature.presence.min_fraction = 1.0
            feature.shape.dim.add(size=1)
        else:
            feature.presence.min_fraction = 0.0
            feature.value_count.min = feature.value_count.max = 1
        if stats.type == stats.STRING and name not in (*validation.id_columns, "user_id") and (
                name == "domain" or stats.string_stats.unique <= validation.max_categories):
            domain = schema.string_domain.add(name=name)
            domain.value.extend(sorted(v.value for v in stats.string_stats.top_values))
            feature.domain = name
        elif name in validation.range_columns and stats.type != stats.STRING:
            if stats.type == stats.INT:
                feature.int_domain.min, feature.int_domain.max = (int(stats.num_stats.min),
                                                                  int(stats.num_stats.max))
            else:
                feature.float_domain.min, feature.float_domain.max = (stats.num_stats.min,
                                                                      stats.num_stats.max)
    return schema


def _split(statistics, name: str) -> statistics_pb2.DatasetFeatureStatistics:
    for dataset in statistics.datasets:
        if dataset.name == name:
            return dataset
    raise PipelineError(f"the statistics have no {name} split")


def read_schema(path: Path) -> schema_pb2.Schema:
    """A text ``Schema`` proto; an unreadable one is an error naming the file."""
    try:
        return text_format.Parse(Path(path).read_text(), schema_pb2.Schema())
    except (OSError, text_format.ParseError) as error:
        raise PipelineError(f"{path}: not a readable Schema proto in text format ({error})") \
            from None


def find_anomalies(statistics: statistics_pb2.DatasetFeatureStatisticsList,
                   schema: schema_pb2.Schema, config: PipelineConfig) -> list[tuple[str, str]]:
    """``(column, one line)`` for every anomaly of every split, in split then column order."""
    domains = {d.name: set(d.value) for d in schema.string_domain}
    train_ids = {name: set(_value_counts(f) or ())
                 for name, f in _features(_split(statistics, "train")).items()
                 if name in config.validation.id_columns}
    found = []
    for dataset in statistics.datasets:
        rows, split = dataset.num_examples, dataset.name
        if not rows:
            continue
        stats = _features(dataset)
        for feature in schema.feature:
            name = feature.name
            where = f"column {name}"
            if name not in stats:
                if feature.presence.min_fraction > 0 or feature.presence.min_count > 0:
                    found.append((name, f"{where}: missing from all {rows} {split} rows "
                                        "(the schema requires it)"))
                continue
            column = stats[name]
            seen_type = _FEATURE_TYPE[column.type]
            present = _common(column).num_non_missing
            if seen_type != feature.type:
                found.append((name, f"{where}: {_TYPE_NAME[seen_type]} values in {present} "
                                    f"{split} rows, the schema expects {_TYPE_NAME[feature.type]}"))
                continue
            if feature.presence.min_fraction > 0 and present / rows < feature.presence.min_fraction:
                found.append((name, f"{where}: missing in {rows - present} of {rows} {split} "
                                    "rows (the schema requires it in every row)"))
            counts = _value_counts(column)
            domain = domains.get(feature.domain) if feature.HasField("domain") else None
            if domain is not None and counts is not None:
                outside = {v: n for v, n in counts.items() if v not in domain}
                if outside:
                    example = sorted(outside, key=lambda v: -outside[v])[0]
                    found.append((name, f"{where}: {sum(outside.values())} {split} rows have "
                                        f"values outside the schema's domain, e.g. {example!r}"))
            low_high = _range(feature)
            if low_high is not None:
                low, high = low_high
                found.extend((name, line) for line in _out_of_range(where, split, column, counts,
                                                                    low, high))
            if name in train_ids and split != "train" and counts is not None:
                new = sum(n for v, n in counts.items() if v not in train_ids[name])
                limit = config.validation.max_new_id_fraction
                if new / present > limit:
                    found.append((name, f"{where}: {new} of {present} {split} rows "
                                        f"({new / present:.1%}) have ids the train split never "
                                        f"saw (at most {limit:.0%} allowed)"))
        for name in sorted(set(stats) - {f.name for f in schema.feature}):
            found.append((name, f"column {name}: in {_common(stats[name]).num_non_missing} "
                                f"{split} rows but not in the schema"))
    return found


def _range(feature: schema_pb2.Feature):
    if feature.HasField("int_domain"):
        return feature.int_domain.min, feature.int_domain.max
    if feature.HasField("float_domain"):
        return feature.float_domain.min, feature.float_domain.max
    return None


def _out_of_range(where: str, split: str, column, counts, low, high) -> list[str]:
    if column.num_stats.min >= low and column.num_stats.max <= high:
        return []
    if counts is not None:
        outside = sum(n for v, n in counts.items() if not low <= v <= high)
        return [f"{where}: {outside} {split} rows outside [{low:g}, {high:g}]"]
    return [f"{where}: {split} values from {column.num_stats.min:g} to "
            f"{column.num_stats.max:g} fall outside [{low:g}, {high:g}]"]


# -- components ------------------------------------------------------------
def _schema_parameters(config: PipelineConfig) -> dict:
    return {"validation": {key: list(value) if isinstance(value, tuple) else value
                           for key, value in vars(config.validation).items()}}


def _curated_fingerprint(config: PipelineConfig, output_root: Path) -> dict:
    """The curated schema as an input: absent, or identical to the schema the latest
    run inferred and wrote there, is "infer" (so the run after an inference is
    still cached); any other content counts by its hash."""
    curated = schema_path(config, output_root)
    if not curated.is_file():
        return {"schema": "infer"}
    try:
        last = latest(output_root, "SchemaGen")
    except PipelineError:
        last = None
    if last is not None and last.lineage.get("inferred") and (
            curated.read_bytes() == (last.output("schema") / SCHEMA_FILE).read_bytes()):
        return {"schema": "infer"}
    return file_fingerprints([curated])


def _run_schema_gen(context: Context) -> None:
    curated = schema_path(context.config, context.output_root)
    if curated.is_file():
        schema = read_schema(curated)
        origin = f"imported from {curated}"
        context.notes["inferred"] = False
    else:
        schema = infer_schema(read_statistics(context.inputs["statistics"]), context.config)
        curated.parent.mkdir(parents=True, exist_ok=True)
        write_text(curated, text_format.MessageToString(schema))
        origin = f"inferred from the train split; written to {curated} for review"
        context.notes["inferred"] = True
    (context.outputs["schema"] / SCHEMA_FILE).write_text(text_format.MessageToString(schema))
    context.notes["schema"] = origin
    context.log(f"SchemaGen: schema {origin}")


def _run_validator(context: Context) -> None:
    schema = read_schema(context.inputs["schema"] / SCHEMA_FILE)
    found = find_anomalies(read_statistics(context.inputs["statistics"]), schema,
                           context.config)
    anomalies = anomalies_pb2.Anomalies(baseline=schema)
    for column, line in found:
        info = anomalies.anomaly_info[column]
        info.severity = anomalies_pb2.AnomalyInfo.ERROR
        info.path.step.append(column)
        info.reason.add(type=anomalies_pb2.AnomalyInfo.UNKNOWN_TYPE, description=line)
    (context.outputs["anomalies"] / ANOMALIES_FILE).write_text(
        text_format.MessageToString(anomalies))
    context.notes["anomalies"] = [line for _, line in found]


def check_anomalies(execution: Execution) -> None:
    """Stops the pipeline when a validation run found anomalies.

    Raises:
        AnomaliesFound: naming each anomaly and the file they were written to.
    """
    lines = execution.lineage.get("anomalies", [])
    if lines:
        raise AnomaliesFound(lines, str(execution.output("anomalies") / ANOMALIES_FILE))


SCHEMA_GEN = Component(name="SchemaGen", inputs={"statistics": "StatisticsGen.statistics"},
                       outputs=("schema",), parameters=_schema_parameters, run=_run_schema_gen,
                       external=_curated_fingerprint)
EXAMPLE_VALIDATOR = Component(
    name="ExampleValidator",
    inputs={"statistics": "StatisticsGen.statistics", "schema": "SchemaGen.schema"},
    outputs=("anomalies",), parameters=_schema_parameters, run=_run_validator)
