"""The model server config TF Serving reads, for models exported under a base path."""

import pytest

from tfxdr_serving.config import ConfigError, ModelEntry, check, model_config


def _versions(root, name, *versions):
    for version in versions:
        (root / name / str(version)).mkdir(parents=True)
    return str(root / name)


def test_labelled_versions_are_all_loaded_and_the_rest_serve_the_latest(tmp_path):
    clicks = _versions(tmp_path, "clicks", 1, 2, 3)
    ctr = _versions(tmp_path, "ctr", 4)
    text = model_config([ModelEntry("clicks", clicks, labels={"stable": 1, "canary": 3}),
                         ModelEntry("ctr", ctr)], container_root="/models")
    assert text == (
        'model_config_list {\n'
        '  config {\n'
        '    name: "clicks"\n'
        '    base_path: "/models/clicks"\n'
        '    model_platform: "tensorflow"\n'
        '    model_version_policy {\n'
        '      specific {\n'
        '        versions: 1\n'
        '        versions: 3\n'
        '      }\n'
        '    }\n'
        '    version_labels {\n'
        '      key: "canary"\n'
        '      value: 3\n'
        '    }\n'
        '    version_labels {\n'
        '      key: "stable"\n'
        '      value: 1\n'
        '    }\n'
        '  }\n'
        '  config {\n'
        '    name: "ctr"\n'
        '    base_path: "/models/ctr"\n'
        '    model_platform: "tensorflow"\n'
        '    model_version_policy {\n'
        '      latest {\n'
        '        num_versions: 1\n'
        '      }\n'
        '    }\n'
        '  }\n'
        '}\n')
    # Without a container root the base path is the directory itself.
    assert f'base_path: "{tmp_path / "ctr"}"' in model_config([ModelEntry("ctr", ctr)])


@pytest.mark.parametrize("entries,message", [
    (lambda p: [ModelEntry("a/b", p)], "model name 'a/b': expected letters, digits"),
    (lambda p: [ModelEntry("m", p), ModelEntry("m", p)], "model 'm' is listed twice"),
    (lambda p: [ModelEntry("m", p, labels={"can-ary": 1})],
     "model 'm': label 'can-ary': expected letters, digits or '_'"),
    (lambda p: [ModelEntry("m", p, labels={"stable": 9})], "model 'm': version 9 is not under"),
])
def test_what_tf_serving_would_refuse_is_refused_naming_the_model(tmp_path, entries, message):
    path = _versions(tmp_path, "m", 1)
    with pytest.raises(ConfigError, match=message):
        check(entries(path))


def test_the_command_writes_the_config_and_refuses_a_bad_model_in_one_line(tmp_path, capsys):
    from tfxdr_serving.cli import main

    _versions(tmp_path, "clicks", 1, 2)
    out = tmp_path / "models.config"
    assert main(["config", "--base-path", str(tmp_path), "--model", "clicks:2@stable=1",
                 "--container-root", "/models", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    text = out.read_text()
    assert "versions: 1\n        versions: 2\n" in text and 'key: "stable"' in text
    for model, message in (("clicks@stable", "'clicks@stable': expected NAME[:VERSION,...]"
                                             "[@LABEL=VERSION,...]"),
                           ("clicks:3", "model 'clicks': version 3 is not under")):
        with pytest.raises(SystemExit) as stop:
            main(["config", "--base-path", str(tmp_path), "--model", model, "--out",
                  str(tmp_path / "other.config")])
        assert stop.value.code == 2
        error = capsys.readouterr().err
        assert error.startswith(f"tfxdr-serving: error: --model: {message}")
        assert len(error.splitlines()) == 1
    assert not (tmp_path / "other.config").exists() and out.read_text() == text


def test_monitoring_and_batching_files_in_tf_servings_text_format():
    # Their protos (MonitoringConfig, BatchingParameters) are not in the Python package:
    # the text is checked against the fields TF Serving's sources define.
    from tfxdr_serving.config import batching_parameters, monitoring_config

    assert monitoring_config() == (
        'prometheus_config {\n  enable: true\n  path: "/monitoring/prometheus/metrics"\n}\n')
    assert batching_parameters(max_batch_size=64) == (
        "max_batch_size { value: 64 }\nbatch_timeout_micros { value: 0 }\n"
        "max_enqueued_batches { value: 1000 }\nnum_batch_threads { value: 4 }\n"
        "pad_variable_length_inputs: false\n")
    with pytest.raises(ConfigError, match="num_batch_threads=0: expected an integer >= 1"):
        batching_parameters(num_batch_threads=0)
    with pytest.raises(ConfigError, match="metrics path 'metrics': expected an absolute"):
        monitoring_config("metrics")


def test_the_monitoring_and_batching_commands_write_their_files(tmp_path, capsys):
    from tfxdr_serving.cli import main
    from tfxdr_serving.config import batching_parameters, monitoring_config

    assert main(["monitoring", "--out", str(tmp_path / "monitoring.config")]) == 0
    assert (tmp_path / "monitoring.config").read_text() == monitoring_config()
    assert main(["batching", "--max-batch-size", "32", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b").read_text() == batching_parameters(max_batch_size=32)
    with pytest.raises(SystemExit) as stop:
        main(["batching", "--max-batch-size", "0", "--out", str(tmp_path / "c")])
    assert stop.value.code == 2 and not (tmp_path / "c").exists()
    assert capsys.readouterr().err.endswith(
        "tfxdr-serving: error: max_batch_size=0: expected an integer >= 1\n")
