"""Two daphne processes on one database and one Redis: a key's quota is shared by both, a revocation
made elsewhere is refused by both at once, and bodies of forged keys are refused unread."""
import json
import os
import subprocess
import sys

import pytest
import redis
import requests

from tests.liveserver import LiveServer
from ttsproject.processes import ROOT, RedisServer

pytestmark = [pytest.mark.live_server]


def manage(env, *args) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("keys")
    redis_server = RedisServer(workdir).start()
    # a worker that announces piper: both web processes relay (and are ready) without synthesizing
    redis.Redis.from_url(redis_server.url).set("tts:worker:held", json.dumps(["piper"]), ex=600)
    env = {"REDIS_URL": redis_server.url, "TTS_ENGINES": "piper", "TTS_DATA_DIR": str(workdir),
           "TTS_ORT_THREADS": "1"}
    manage(env, "migrate", "--verbosity", "0")
    tokens = {name: manage(env, "create_api_key", name, "--owner", "team", "--create-owner", *extra)
              for name, extra in (("metered", ("--requests-per-minute", "4")), ("unmetered", ("--scopes", "speak,voices")),
                                  ("wordy", ("--scopes", "speak,tasks", "--characters-per-day", "50")))}
    servers = []
    try:
        for _ in range(2):
            servers.append(LiveServer(workdir, "--skip-migrate", env=env).wait_ready())
        yield servers, tokens, env
    finally:
        for server in servers:
            server.stop()
        redis_server.stop()


def get(server, token, path="/audio_roles"):
    return requests.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_quota_is_shared_by_every_web_process(pair):
    (first, second), tokens, _ = pair
    statuses = [get(server, tokens["metered"]).status_code for server in (first, second, first, second)]
    assert statuses == [200] * 4
    for server in (first, second):
        refused = get(server, tokens["metered"], "/v1/models")
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["error"]["code"] == "quota_exceeded"


def test_characters_per_day_are_counted_across_every_web_process(pair):
    """Tasks are charged their characters when created (no worker needs to run them): 30 through
    one process, then 30 more through the other would pass 50 and are refused there."""
    (first, second), tokens, _ = pair

    def task(server, step_id):
        return requests.post(f"{server.url}/generate_audio_enhanced_async", timeout=30,
                             json={"step_id": step_id, "text": "Thirty characters of text, ok.", "reference_id": "joe"},
                             headers={"Authorization": f"Bearer {tokens['wordy']}"})

    assert task(first, "wordy-1").status_code == 200
    refused = task(second, "wordy-2")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "characters" in refused.text


def test_bodies_of_forged_keys_are_refused_before_they_are_read(pair):
    (first, _), tokens, _ = pair
    forged = requests.post(f"{first.url}/speak", data=b"x" * 100000, timeout=30,
                           headers={"Authorization": "Bearer tts_forged", "Content-Type": "application/json"})
    assert forged.status_code == 401 and forged.json()["detail"].startswith("Invalid or missing API key")
    allowed = requests.post(f"{first.url}/delete_speaker", data={"name": "ghost"}, timeout=30,
                            headers={"Authorization": f"Bearer {tokens['unmetered']}"})
    assert allowed.status_code == 404  # past the guard and the key check: no such voice


def test_a_revocation_made_elsewhere_is_refused_by_every_process_at_once(pair):
    (first, second), tokens, env = pair
    assert [get(server, tokens["unmetered"]).status_code for server in (first, second)] == [200, 200]
    manage(env, "shell", "-c", "from synthesis import keys; from synthesis.models import ApiKey; "
                               "keys.revoke(ApiKey.objects.filter(name='unmetered'))")
    for server in (first, second):
        refused = get(server, tokens["unmetered"])
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
