"""The README's serve command on the default install: a fresh virtual environment with
requirements.txt only (no test packages), started by ./scripts/serve in-process and with
--workers 2, each asked for audio over HTTP. A dev-only import in the product fails here."""
import os
import signal
import subprocess

import pytest
import requests

from tests.audio import decode
from ttsproject.processes import ROOT, free_port, wait_for

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """Where ./scripts/serve builds its environment from requirements.txt (once for this module)."""
    return tmp_path_factory.mktemp("default-install") / "venv"


def start(venv, data_dir, *args):
    from django.conf import settings

    port = free_port()
    log = open(data_dir / "serve.log", "wb")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))},
           "VENV": str(venv), "TTS_DATA_DIR": str(data_dir), "PATH": "/usr/local/bin:/usr/bin:/bin",
           # the voicepacks and profiles this test run installed: the fresh environment reuses them
           "TTS_VOICE_DATA_DIR": str(settings.TTS_VOICE_DATA_DIR)}
    process = subprocess.Popen(["./scripts/serve", "--port", str(port), *args], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return requests.get(f"{url}/readiness", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(process, lambda: (data_dir / "serve.log").read_text(errors="replace"), ready, 1200, "scripts/serve")
    except RuntimeError:
        stop(process)
        raise
    return process, url


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def speaks(url):
    english = requests.post(f"{url}/speak", json={"name": "joe", "text": "Hello from a fresh install.",
                                                  "response_format": "wav"}, timeout=120)
    assert english.status_code == 200, english.text[:300]
    samples, rate = decode(english.content, "wav")
    assert rate == 22050 and len(samples) / rate > 0.8
    mandarin = requests.post(f"{url}/v1/tts", json={"text": "你好，这是测试文本", "format": "wav"}, timeout=120)
    assert mandarin.status_code == 200, mandarin.text[:300]
    assert len(decode(mandarin.content, "wav")[0]) > 0


@pytest.mark.parametrize("args", [(), ("--workers", "2")], ids=["in-process", "two-workers"])
def test_scripts_serve_on_requirements_txt_alone_speaks(fresh_venv, tmp_path, args):
    process, url = start(fresh_venv, tmp_path, *args)
    try:
        speaks(url)
    finally:
        stop(process)
    installed = subprocess.run([str(fresh_venv / "bin" / "python"), "-c", "import pytest"], capture_output=True)
    assert installed.returncode != 0  # the environment really is the default install
