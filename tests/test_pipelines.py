"""The pipeline's data half: config, ExampleGen, StatisticsGen, SchemaGen,
ExampleValidator, lineage and cache, on hand-made CSV files with known values."""

import hashlib
import json
import math
from pathlib import Path

import pytest

pytest.importorskip("apache_beam")

from google.protobuf import text_format  # noqa: E402
from tensorflow_metadata.proto.v0 import schema_pb2  # noqa: E402

from tfxdr_pipelines import cli  # noqa: E402
from tfxdr_pipelines.component import LINEAGE_FILE, latest  # noqa: E402
from tfxdr_pipelines.config import load_config  # noqa: E402
from tfxdr_pipelines.errors import AnomaliesFound, PipelineError  # noqa: E402
from tfxdr_pipelines.example_gen import split_of, value_kind, widest  # noqa: E402
from tfxdr_pipelines.runner import run_pipeline, run_step  # noqa: E402
from tfxdr_pipelines.statistics import read_statistics  # noqa: E402

HEADER = "user_id,item_id,domain,timestamp,rating"
# Six rows; u2's second row has no rating.  All go to train ([split] train = 100).
ROWS = ["u1,i1,A,10,4", "u1,i2,B,11,5", "u2,i1,A,12,3", "u2,i3,B,13,", "u3,i1,A,14,2",
        "u3,i2,B,15,1"]


def _write(tmp_path, rows, header=HEADER, split="train = 100\neval = 0\ntest = 0\n",
           name="data.csv"):
    (tmp_path / name).write_text("\n".join([header, *rows]) + "\n")
    config = tmp_path / "pipeline.toml"
    config.write_text(f'[pipeline]\nname = "toy"\n[data]\npath = "{name}"\n[split]\n{split}')
    return config


def _run(config_path, output, *beam_args, until="Transform"):
    logged = []
    run_pipeline(load_config(config_path), output, list(beam_args), log=logged.append,
                 until=until)
    return logged


def test_config_errors_name_the_file_section_and_key(tmp_path):
    config = tmp_path / "p.toml"
    config.write_text('[pipeline]\nname = "x"\n[data]\npath = "a.csv"\n[split]\ntrian = 70\n')
    with pytest.raises(PipelineError, match=r"p\.toml: \[split\] trian: unknown key; expected "
                                            r"one of key, train, eval, test, seed, shards$"):
        load_config(config)
    config.write_text('[pipeline]\nname = "x"\n[data]\npath = "a.csv"\n[split]\ntrain = "70"\n')
    with pytest.raises(PipelineError, match=r"\[split\] train = '70': expected an integer$"):
        load_config(config)
    config.write_text('[pipeline]\nname = "x"\n[data]\npath = "a.csv"\n[split]\ntrain = 80\n')
    with pytest.raises(PipelineError, match=r"summing to 100 \(they sum to 110\)$"):
        load_config(config)
    config.write_text('[pipeline]\nname = "x"\n[data]\npath = "a.csv"\ndataset = "ml-100k"\n')
    with pytest.raises(PipelineError, match=r"\[data\] needs exactly one of dataset and path$"):
        load_config(config)
    config.write_text('[pipeline]\nname = "x"\n[data]\npath = "a.csv"\n[trainer]\n'
                      'strategy = "mirrored"\n')
    with pytest.raises(PipelineError, match=r"\[trainer\] strategy = 'mirrored': expected one "
                                            r"of one_device, multi_worker$"):
        load_config(config)


def test_column_types_are_the_narrowest_that_fit_every_value():
    assert [value_kind("rating", v) for v in ("4", "4.5", "four", 3, 2.0)] == \
        ["int", "float", "bytes", "int", "float"]
    assert value_kind("user_id", "7") == "bytes"  # ids are strings whatever they look like
    assert widest(["int", "float", "int"]) == "float"
    assert widest(["int", "bytes"]) == "bytes"


def test_hash_split_follows_the_shares_and_the_seed():
    users = [{"user_id": f"u{i}"} for i in range(4000)]
    splits = [split_of(row, "user_id", 0, (70, 5, 25)) for row in users]
    shares = [splits.count(s) / len(users) for s in range(3)]
    assert shares == pytest.approx([0.70, 0.05, 0.25], abs=0.02)
    assert splits == [split_of(row, "user_id", 0, (70, 5, 25)) for row in users]
    reseeded = [split_of(row, "user_id", 1, (70, 5, 25)) for row in users]
    assert 0.3 < sum(a != b for a, b in zip(splits, reseeded)) / len(users) < 0.6
    assert {split_of(row, "user_id", 0, (100, 0, 0)) for row in users} == {0}


def test_statistics_and_inferred_schema_hold_the_hand_counted_values(tmp_path):
    _run(_write(tmp_path, ROWS), tmp_path / "out")
    statistics = read_statistics(latest(tmp_path / "out", "StatisticsGen").output("statistics"))
    train, eval_, test = statistics.datasets
    assert (train.name, train.num_examples, eval_.num_examples, test.num_examples) == \
        ("train", 6, 0, 0)
    features = {f.path.step[0]: f for f in train.features}
    items = features["item_id"].string_stats
    assert items.unique == 3
    assert [(v.value, v.frequency) for v in items.top_values] == [("i1", 3), ("i2", 2),
                                                                  ("i3", 1)]
    rating = features["rating"].num_stats
    assert (rating.common_stats.num_non_missing, rating.common_stats.num_missing) == (5, 1)
    assert (rating.min, rating.max, rating.mean) == (1, 5, 3.0)
    assert rating.std_dev == pytest.approx(math.sqrt(2))  # values 1..5
    assert [(b.low_value, b.sample_count) for b in rating.histograms[0].buckets] == \
        [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]
    assert features["timestamp"].type == features["timestamp"].INT

    schema = text_format.Parse((tmp_path / "out" / "schema.pbtxt").read_text(),
                               schema_pb2.Schema())
    by_name = {f.name: f for f in schema.feature}
    assert [d.value for d in schema.string_domain if d.name == "domain"] == [["A", "B"]]
    assert (by_name["rating"].int_domain.min, by_name["rating"].int_domain.max) == (1, 5)
    assert by_name["rating"].presence.min_fraction == 0.0  # missing in one train row
    assert by_name["timestamp"].presence.min_fraction == 1.0
    assert not by_name["item_id"].HasField("domain")  # ids get no value list


def test_a_dropped_column_and_a_type_change_stop_the_pipeline_naming_them(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", str(_write(tmp_path, ROWS)), "--output", str(out),
                     "--until", "Transform"]) == 0
    # The schema now exists; the next data has no rating and a text timestamp.
    changed = [",".join(row.split(",")[:3] + [f"t{i}"]) for i, row in enumerate(ROWS)]
    config = _write(tmp_path, changed, header="user_id,item_id,domain,timestamp")
    assert cli.main(["run", str(config), "--output", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert error.startswith("tfxdr-pipeline: error: 2 anomalies in the data (written to ")
    assert error.endswith("anomalies.pbtxt): column rating: missing from all 6 train rows (the "
                          "schema requires it); column timestamp: BYTES values in 6 train rows, "
                          "the schema expects INT")
    # Nothing after validation ran on the bad data: Transform holds the first run only.
    assert len([p for p in (out / "Transform").iterdir() if p.is_dir()]) == 1


def test_unseen_domain_out_of_range_values_and_new_ids_are_counted(tmp_path, capsys):
    # 20 users; the schema comes from a first run on clean rows, then the held-out
    # splits get items train never saw.
    rows = [f"u{u},i{k},{'AB'[k % 2]},{u * 10 + k},{1 + k % 5}" for u in range(20)
            for k in range(5)]
    split = "train = 50\neval = 0\ntest = 50\n"
    out = tmp_path / "out"
    _run(_write(tmp_path, rows, split=split), out)
    config = load_config(_write(tmp_path, rows, split=split))
    test_users = {f"u{u}" for u in range(20)
                  if split_of({"user_id": f"u{u}"}, "user_id", 0, (50, 0, 50)) == 2}
    bad = [f"u{u},{'new' if f'u{u}' in test_users else 'i'}{k},"
           f"{'C' if (u, k) == (0, 0) else 'AB'[k % 2]},{u * 10 + k},{9 if k == 4 else 1}"
           for u in range(20) for k in range(5)]
    _write(tmp_path, bad, split=split)
    with pytest.raises(AnomaliesFound) as raised:
        run_pipeline(config, out, log=lambda line: None, until="Transform")
    train_rows = 5 * (20 - len(test_users))
    lines = raised.value.anomalies
    train_domain = [line for line in lines if line.startswith("column domain")]
    assert train_domain == [f"column domain: 1 {'test' if 'u0' in test_users else 'train'} "
                            "rows have values outside the schema's domain, e.g. 'C'"]
    assert f"column rating: {20 - len(test_users)} train rows outside [1, 5]" in lines
    assert f"column rating: {len(test_users)} test rows outside [1, 5]" in lines
    new = 5 * len(test_users)
    assert (f"column item_id: {new} of {new} test rows (100.0%) have ids the train split "
            "never saw (at most 20% allowed)") in lines
    assert train_rows + new == 100


def test_a_second_run_is_served_from_cache_and_an_edited_schema_reruns_what_reads_it(
        tmp_path):
    config = _write(tmp_path, ROWS)
    out = tmp_path / "out"
    first = _run(config, out)
    assert [line.split(":")[1].split()[0] for line in first
            if ": running" in line or ": cached" in line] == ["running"] * 5
    second = _run(config, out)
    assert [line for line in second if ": running" in line] == []
    assert len([line for line in second if ": cached" in line]) == 5
    # A curated edit (widen the rating range) is a new input to SchemaGen and what
    # reads the schema.
    schema_file = out / "schema.pbtxt"
    schema_file.write_text(schema_file.read_text().replace("max: 5", "max: 10"))
    third = _run(config, out)
    ran = [line.split(":")[0] for line in third if ": running" in line]
    assert ran == ["SchemaGen", "ExampleValidator", "Transform"]
    # Changed data reruns everything from ExampleGen.
    _write(tmp_path, ROWS[:-1])
    fourth = _run(config, out)
    assert [line.split(":")[0] for line in fourth if ": running" in line] == \
        ["ExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform"]


def test_lineage_traces_each_artifact_to_its_inputs_and_the_data_file(tmp_path):
    config = _write(tmp_path, ROWS)
    out = tmp_path / "out"
    _run(config, out)
    example_gen = json.loads((latest(out, "ExampleGen").directory / LINEAGE_FILE).read_text())
    data = tmp_path / "data.csv"
    digest = hashlib.sha256(b"data.csv\0" + data.read_bytes() + b"\0").hexdigest()
    assert example_gen["external"] == {str(data): digest}
    statistics = json.loads((latest(out, "StatisticsGen").directory / LINEAGE_FILE).read_text())
    assert statistics["inputs"]["examples"] == {
        "component": "ExampleGen", "key": example_gen["key"], "artifact": "examples",
        "sha256": example_gen["outputs"]["examples"]["sha256"]}
    validator = json.loads((latest(out, "ExampleValidator").directory / LINEAGE_FILE)
                           .read_text())
    schema_gen = json.loads((latest(out, "SchemaGen").directory / LINEAGE_FILE).read_text())
    assert validator["inputs"]["schema"]["sha256"] == schema_gen["outputs"]["schema"]["sha256"]
    assert schema_gen["inferred"] is True
    assert validator["anomalies"] == []


def test_two_worker_processes_give_the_same_outputs_as_one(tmp_path):
    rows = [f"u{u},i{(u * 7 + k) % 13},{'AB'[k % 2]},{u * 10 + k},{1 + k % 5}"
            for u in range(40) for k in range(6)]
    config = load_config(_write(tmp_path, rows, split="train = 70\neval = 10\ntest = 20\n"))
    run_step("ExampleGen", config, tmp_path / "one", log=lambda line: None)
    run_step("StatisticsGen", config, tmp_path / "one", log=lambda line: None)
    beam = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    run_step("ExampleGen", config, tmp_path / "two", beam, log=lambda line: None)
    run_step("StatisticsGen", config, tmp_path / "two", beam, log=lambda line: None)
    one, two = (read_statistics(latest(tmp_path / d, "StatisticsGen").output("statistics"))
                for d in ("one", "two"))
    assert [d.num_examples for d in one.datasets] == [d.num_examples for d in two.datasets]
    assert sum(d.num_examples for d in one.datasets) == 240
    assert one == two


def test_unreadable_rows_and_unknown_options_are_one_line_and_leave_nothing(tmp_path, capsys):
    config = _write(tmp_path, [*ROWS, "u9,i1", "u9,,A,3,3"])
    out = tmp_path / "out"
    assert cli.main(["run", str(config), "--output", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (f"tfxdr-pipeline: error: {tmp_path / 'data.csv'}: 2 rows could not be "
                     "read; the first: a row has 2 fields where the header has 5: 'u9,i1'")
    assert [p.name for p in (out / "ExampleGen").iterdir()] == []
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", str(config), "--output", str(out), "--direct_num_wrokers=2"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: unrecognized arguments: --direct_num_wrokers (neither tfxdr-pipeline's nor a "
        "Beam pipeline option)")
    with pytest.raises(PipelineError, match=r"StatisticsGen has not run in .*; run it first$"):
        run_step("SchemaGen", load_config(config), tmp_path / "empty")


def test_flink_spark_and_dataflow_options_reach_beam_unchanged(tmp_path):
    from tfxdr_pipelines.beam import shared_temp_dir

    parser = cli.build_parser()
    for options in (
            ["--runner=FlinkRunner", "--flink_master=flink:8081", "--environment_type=LOOPBACK",
             "--parallelism=4"],
            ["--runner=SparkRunner", "--spark_master_url=spark://spark:7077",
             "--spark_submit_uber_jar", "--spark_rest_url=http://spark:6066"],
            ["--runner=DataflowRunner", "--project=p", "--region=europe-west1",
             "--temp_location=gs://bucket/tmp", "--setup_file=./setup.py",
             "--max_num_workers=8"]):
        assert cli.beam_options(parser, options) == options
    # tf.Transform's scratch: where every worker reaches it, a bucket or the output root.
    with shared_temp_dir(["--temp_location=gs://bucket/tmp/"], tmp_path) as scratch:
        assert scratch.startswith("gs://bucket/tmp/tfxdr-")
    with shared_temp_dir([], tmp_path / "out") as scratch:
        assert Path(scratch).parent == tmp_path / "out" and Path(scratch).is_dir()
    assert not Path(scratch).exists()


def _transformed(directory: Path, split: str) -> list[dict]:
    import tensorflow as tf

    rows = []
    for path in sorted((directory / f"Split-{split}").glob("*.tfrecord.gz")):
        for record in tf.data.TFRecordDataset(str(path), compression_type="GZIP"):
            example = tf.train.Example.FromString(record.numpy())
            feature = example.features.feature
            rows.append({"user_id": feature["user_id"].bytes_list.value[0].decode(),
                         "domain": feature["domain"].bytes_list.value[0].decode(),
                         "item_index": feature["item_index"].int64_list.value[0]})
    return rows


def test_transform_indexes_items_by_the_train_vocabulary_of_every_domain(tmp_path):
    # Every row trains; by count the items are a1 x4, then b1 and a2 x2 each (a2 is
    # listed in A and in B: one item, one index), then b2 x1.
    rows = ["u1,a1,A,1,5", "u2,a1,A,2,5", "u3,a1,A,3,5", "u4,a1,A,4,5", "u3,a2,A,5,5",
            "u1,b1,B,6,5", "u2,b1,B,7,5", "u1,a2,B,8,5", "u4,b2,B,9,5"]
    out = tmp_path / "out"
    _run(_write(tmp_path, rows), out)
    transform = latest(out, "Transform")
    graph = transform.output("transform_graph")
    vocabulary = (graph / "transform_fn" / "assets" / "items").read_text().split()
    assert vocabulary == ["a1", "b1", "a2", "b2"]  # ties: the larger value first
    indexed = sorted((r["user_id"], r["domain"], r["item_index"])
                     for r in _transformed(transform.output("transformed_examples"), "train"))
    assert indexed == [("u1", "A", 2), ("u1", "B", 3), ("u1", "B", 4), ("u2", "A", 2),
                       ("u2", "B", 3), ("u3", "A", 2), ("u3", "A", 4), ("u4", "A", 2),
                       ("u4", "B", 5)]
    assert transform.lineage["domains"] == ["A", "B"]
