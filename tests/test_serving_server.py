"""tfxdr-model-server: TF Serving's flags, its config file, a new version picked up."""

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

from serving_paths import free_port
from tfxdr_serving.config import ModelEntry, model_config
from tfxdr_serving.server import load_models, main, parser


def test_a_config_file_gives_each_model_its_policy_and_labels(tiny_model, tmp_path):
    for version in ("1", "2", "3"):
        shutil.copytree(tiny_model, tmp_path / "clicks" / version)
    config = tmp_path / "models.config"
    config.write_text(model_config([
        ModelEntry("clicks", str(tmp_path / "clicks"), labels={"stable": 1, "canary": 2}),
        ModelEntry("latest", str(tmp_path / "clicks"))]))
    models = load_models(parser().parse_args([f"--model_config_file={config}"]))
    assert sorted(models["clicks"].versions) == [1, 2] and models["clicks"].get()[0] == 2
    assert sorted(models["latest"].versions) == [3]


def test_no_model_is_one_line_and_status_2(capsys):
    assert main(["--port=0"]) == 2
    assert capsys.readouterr().err == (
        "tfxdr-model-server: error: Both server_model_config and model_config_file are "
        "empty: pass --model_base_path or --model_config_file\n")




def test_the_server_serves_rest_and_picks_up_a_new_version(tiny_model, tmp_path):
    shutil.copytree(tiny_model, tmp_path / "tiny" / "1")
    process = subprocess.Popen(
        [sys.executable, "-m", "tfxdr_serving.server", "--port=0",
         f"--rest_api_port={free_port()}",
         "--model_name=tiny", f"--model_base_path={tmp_path / 'tiny'}",
         "--file_system_poll_wait_seconds=0.2", "--enable_batching=true"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("REST on http://127.0.0.1:"), line
        url = line.split()[-1] + "/v1/models/tiny"

        def latest():
            with urllib.request.urlopen(url) as answer:
                return json.loads(answer.read())["model_version_status"][0]["version"]

        assert latest() == "1"
        shutil.copytree(tiny_model, tmp_path / "tiny" / "2")
        deadline = time.monotonic() + 30
        while latest() != "2" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert latest() == "2"
    finally:
        process.send_signal(signal.SIGTERM)  # a clean stop, as on SIGINT
        assert process.wait(timeout=30) == 0
