"""ExampleGen: interactions -> ``tf.train.Example`` TFRecord shards, split by hash.

Sources: a named dataset (its genres as domains, read by tfxdr's data layer),
or an interactions file or glob, CSV or Parquet, read by Beam's own IO so that
large inputs are read in parallel.  Each column gets one type for all its
rows, the narrowest its values fit (int64, then float, then bytes: one
non-number makes the column bytes, which validation reports as a type change);
``user_id``, ``item_id`` and ``domain`` are always bytes.  An empty value is an
absent feature.

A row's split is fixed by the hash of its ``split.key`` value salted with
``split.seed``: the same data always splits the same way, on any runner, and
every row of one user goes to one split.  Output: ``examples/Split-<name>/``
holds ``data-*.tfrecord.gz`` for each of train, eval and test.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import hashlib
import math
from pathlib import Path

import apache_beam as beam

from tfxdr.errors import DataError
from tfxdr_pipelines.beam import make_pipeline
from tfxdr_pipelines.component import Component, Context, file_fingerprints
from tfxdr_pipelines.config import SPLITS, PipelineConfig, resolve_path

STRING_COLUMNS = ("user_id", "item_id", "domain")
BAD = "bad"
BAD_ROWS = "bad-rows"  # a scratch file of the rows that could not be read
KIND_ORDER = ("int", "float", "bytes")
EXAMPLE_FILES = "data-*.tfrecord.gz"


def split_dir(examples: Path, split: str) -> Path:
    return Path(examples) / f"Split-{split}"


def input_files(config: PipelineConfig) -> list[Path]:
    """The files an interactions path or glob names, sorted.

    Raises:
        DataError: it names no file, or a file that is not CSV or Parquet.
    """
    pattern = str(resolve_path(config, config.data.path))
    files = sorted(Path(p) for p in glob.glob(pattern) if Path(p).is_file())
    if not files:
        raise DataError(f"{pattern}: no such file")
    suffixes = {p.suffix.lower() for p in files}
    if not (suffixes <= {".csv"} or suffixes <= {".parquet", ".pq"}):
        raise DataError(f"{pattern}: expected only .csv or only .parquet files, found "
                        f"{', '.join(sorted(suffixes))}")
    return files


def _parameters(config: PipelineConfig) -> dict:
    data = dataclasses.asdict(config.data)
    if config.data.dataset:
        from tfxdr.data.fetch import source_for

        data["wheel_sha256"] = source_for(config.data.dataset).sha256
    else:
        data["path"] = str(resolve_path(config, config.data.path))
    return {"data": data, "split": dataclasses.asdict(config.split)}


def _external(config: PipelineConfig, output_root: Path) -> dict:
    return file_fingerprints(input_files(config)) if config.data.path else {}


# -- reading ---------------------------------------------------------------
def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise DataError(f"{path}: empty file; expected a header line of column names")
    return [name.strip() for name in header]


def _parse_csv(line: str, header: tuple[str, ...]):
    """A CSV line as a row, or a ``bad`` output saying what is wrong with it."""
    values = next(csv.reader([line]), [])
    if len(values) != len(header):
        yield beam.pvalue.TaggedOutput(BAD, f"a row has {len(values)} fields where the header "
                                            f"has {len(header)}: {line[:80]!r}")
        return
    yield {name: (value.strip() or None) for name, value in zip(header, values)}


def _checked(row: dict):
    """The row, or a ``bad`` output when an id or the domain is empty."""
    for column in STRING_COLUMNS:
        if row.get(column) in (None, ""):
            yield beam.pvalue.TaggedOutput(BAD, f"a row has no {column}: {row!r:.80}")
            return
    yield row


def _plain(value):
    """A pandas/Arrow cell as a Python value; None for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _named_rows(config: PipelineConfig) -> list[dict]:
    from tfxdr.data import load_dataset, select_domains

    data = config.data
    interactions = select_domains(load_dataset(data.dataset, quiet=True), data.domains,
                                  data.overlap, data.min_rating)
    frame = interactions.frame
    return [{name: _plain(value) for name, value in zip(frame.columns, row)}
            for row in frame.itertuples(index=False, name=None)]


def read_rows(pipeline: beam.Pipeline, config: PipelineConfig):
    """The interactions as dicts of column -> value (None when missing), and the
    lines saying which input rows could not be read."""
    bad = []
    if config.data.dataset:
        rows = pipeline | "Create" >> beam.Create(_named_rows(config), reshuffle=False)
    else:
        files = input_files(config)
        pattern = str(resolve_path(config, config.data.path))
        if files[0].suffix.lower() == ".csv":
            headers = {tuple(_csv_header(f)) for f in files}
            if len(headers) > 1:
                raise DataError(f"{pattern}: the files' headers differ")
            header = headers.pop()
            _require_columns(header, pattern, config.split.key)
            parsed = (pipeline
                      | "ReadCsv" >> beam.io.ReadFromText(pattern, skip_header_lines=1)
                      | "ParseCsv" >> beam.FlatMap(_parse_csv, header).with_outputs(
                          BAD, main="rows"))
            rows = parsed.rows
            bad.append(parsed[BAD])
        else:
            import pyarrow.parquet as pq

            _require_columns(pq.read_schema(files[0]).names, pattern, config.split.key)
            rows = (pipeline | "ReadParquet" >> beam.io.ReadFromParquet(pattern)
                    | "Plain" >> beam.Map(lambda row: {k: _plain(v) for k, v in row.items()}))
    checked = rows | "Check" >> beam.FlatMap(_checked).with_outputs(BAD, main="rows")
    bad.append(checked[BAD])
    return checked.rows, bad | "Bad" >> beam.Flatten()


def _require_columns(columns, pattern: str, split_key: str) -> None:
    missing = [c for c in STRING_COLUMNS if c not in columns]
    if missing:
        raise DataError(f"{pattern}: missing column {missing[0]}; expected "
                        "user_id,item_id,domain[,timestamp][,rating][,label]")
    if split_key not in columns:
        raise DataError(f"{pattern}: no column {split_key} to split by ([split] key); "
                        f"columns: {', '.join(columns)}")


# -- typing and splitting --------------------------------------------------
def value_kind(column: str, value) -> str:
    """The narrowest type of one value: ``int``, ``float`` or ``bytes``."""
    if column in STRING_COLUMNS or isinstance(value, (bytes, str)) and not _number(value):
        return "bytes"
    if isinstance(value, str):
        return "int" if _integer(value) else "float"
    return "float" if isinstance(value, float) else "int"


def _number(text) -> bool:
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False


def _integer(text: str) -> bool:
    try:
        int(text)
        return True
    except ValueError:
        return False


def widest(kinds) -> str:
    return max(kinds, key=KIND_ORDER.index, default="bytes")


def to_example(row: dict, kinds: dict) -> bytes:
    """One row as a serialised ``tf.train.Example`` of its columns' types."""
    import tensorflow as tf

    features = {}
    for column, value in row.items():
        if value is None:
            continue
        kind = kinds[column]
        if kind == "bytes":
            text = value if isinstance(value, str) else str(value)
            features[column] = tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[text.encode("utf-8")]))
        elif kind == "int":
            features[column] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
        else:
            features[column] = tf.train.Feature(float_list=tf.train.FloatList(
                value=[float(value)]))
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def split_of(row: dict, key: str, seed: int, shares: tuple[int, ...]) -> int:
    """The split index (0 train, 1 eval, 2 test) of a row, from its key's hash."""
    digest = hashlib.sha256(f"{seed}\0{row.get(key) or ''}".encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    edge = 0
    for index, share in enumerate(shares):
        edge += share
        if bucket < edge:
            return index
    return len(shares) - 1


class CountAndFirst(beam.CombineFn):
    """How many lines, and the first in sort order (the same on any runner)."""

    def create_accumulator(self):
        return 0, ""

    def add_input(self, accumulator, line):
        count, first = accumulator
        return count + 1, line if not count or line < first else first

    def merge_accumulators(self, accumulators):
        accumulators = [a for a in accumulators if a[0]]
        return (sum(a[0] for a in accumulators), min((a[1] for a in accumulators), default=""))

    def extract_output(self, accumulator):
        return accumulator


def _run(context: Context) -> None:
    config, split = context.config, context.config.split
    shares = tuple(getattr(split, name) for name in SPLITS)
    examples = context.outputs["examples"]
    scratch = examples / BAD_ROWS
    with make_pipeline(context.beam_args) as pipeline:
        rows, bad = read_rows(pipeline, config)
        (bad
         | "CountBad" >> beam.CombineGlobally(CountAndFirst())
         | "FormatBad" >> beam.MapTuple(lambda count, first: f"{count}\t{first}")
         | "WriteBad" >> beam.io.WriteToText(str(scratch), shard_name_template=""))
        kinds = (rows
                 | "Kinds" >> beam.FlatMap(lambda row: [(c, value_kind(c, v))
                                                        for c, v in row.items() if v is not None])
                 | "Widest" >> beam.CombinePerKey(widest))
        parts = rows | "Split" >> beam.Partition(
            lambda row, _, key, seed: split_of(row, key, seed, shares), len(SPLITS),
            split.key, split.seed)
        for name, part in zip(SPLITS, parts):
            (part
             | f"Encode{name}" >> beam.Map(to_example, beam.pvalue.AsDict(kinds))
             | f"Write{name}" >> beam.io.WriteToTFRecord(
                 str(split_dir(examples, name) / "data"), file_name_suffix=".tfrecord.gz",
                 num_shards=split.shards))
    count, _, first = scratch.read_text().rstrip("\n").partition("\t")
    scratch.unlink()
    if int(count):
        where = config.data.dataset or str(resolve_path(config, config.data.path))
        raise DataError(f"{where}: {count} row{'s' if int(count) > 1 else ''} could not be "
                        f"read; the first: {first}")


EXAMPLE_GEN = Component(name="ExampleGen", inputs={}, outputs=("examples",),
                        parameters=_parameters, run=_run, external=_external)
