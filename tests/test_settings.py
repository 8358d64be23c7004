"""Settings from the environment: a bad value stops start-up naming the variable; production profile."""
import os
import subprocess
import sys

import pytest

from ttsproject.processes import ROOT


def start(env: dict, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "ttsproject.settings", **env}
    return subprocess.run([sys.executable, "manage.py", *(args or ("check",))], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name, value, says", [
    ("TTS_WORKERS", "abc", "TTS_WORKERS must be an integer"),
    ("TTS_URL_TIMEOUT", "soon", "TTS_URL_TIMEOUT must be a number"),
    ("TTS_WAIT_TIMEOUT", "-1", "TTS_WAIT_TIMEOUT must be at least"),
    ("TTS_VLLM_ENFORCE_EAGER", "maybe", "TTS_VLLM_ENFORCE_EAGER must be true or false"),
    ("TTS_DEFAULT_VOICES", "en", "TTS_DEFAULT_VOICES: expected key=value"),
])
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, name, value, says):
    result = start({name: value, "TTS_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0 and says in result.stderr


def test_a_secret_key_is_generated_once_and_kept_private(tmp_path):
    for _ in range(2):
        assert start({"TTS_DATA_DIR": str(tmp_path)}).returncode == 0
    key = tmp_path / "secret_key"
    assert len(key.read_text()) > 40 and oct(key.stat().st_mode)[-3:] == "600"


def test_the_production_profile_needs_a_key_and_hosts_and_is_clean_under_check_deploy(tmp_path):
    base = {"TTS_DATA_DIR": str(tmp_path), "TTS_PRODUCTION": "1"}
    assert "DJANGO_ALLOWED_HOSTS" in start(base).stderr
    assert "TTS_API_KEY" in start({**base, "DJANGO_ALLOWED_HOSTS": "tts.example.com"}).stderr
    result = start({**base, "DJANGO_ALLOWED_HOSTS": "tts.example.com", "TTS_API_KEY": "k"}, "check", "--deploy")
    assert result.returncode == 0 and "no issues" in result.stdout, result.stdout + result.stderr
