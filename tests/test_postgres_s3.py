"""PostgreSQL through DATABASE_URL and S3 media through django-storages, against a live server."""
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests

from tests.audio import decode, tone_wav
from tests.liveserver import LiveServer, free_port

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]
PG = os.environ.get("TTS_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def postgres_reachable() -> bool:
    host, port = PG.rsplit("@", 1)[-1].split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def database():
    if not postgres_reachable():
        pytest.skip(f"no PostgreSQL at {PG} (CI and the development machines have one)")
    import psycopg

    name = f"tts_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield f"{PG}/{name}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    import boto3

    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    # moto imports its backends on the first request: on a busy machine that answer takes seconds.
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url, timeout=10)
            break
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"moto's S3 server did not come up on {url}") from None
            time.sleep(0.1)
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    client.create_bucket(Bucket="tts-media")
    yield url, client
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, database, s3):
    url, _ = s3
    env = {"DATABASE_URL": database, "TTS_S3_BUCKET": "tts-media", "AWS_S3_ENDPOINT_URL": url,
           "AWS_S3_REGION_NAME": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "TTS_ENGINES": "piper", "TTS_CLONE_ENGINE": "piper"}
    live = LiveServer(tmp_path_factory.mktemp("pg"), env=env).wait_ready()
    yield live
    live.stop()


def keys(client):
    return [o["Key"] for o in client.list_objects_v2(Bucket="tts-media").get("Contents", [])]


def test_voices_live_in_postgres_and_their_audio_and_latents_in_s3(server, database, s3):
    import psycopg

    _, client = s3
    added = requests.post(f"{server.url}/add_speaker", data={"name": "s3voice", "reference_text": "hi"},
                          files={"audio_file": ("ref.wav", tone_wav())}, timeout=60)
    assert added.status_code == 200, added.text
    stored = keys(client)
    assert any(k.startswith("voices/reference/") for k in stored)
    assert any(k.startswith("voices/latents/") for k in stored)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT engine FROM voices_voice WHERE name = 's3voice'").fetchone() == ("piper",)
    spoken = requests.post(f"{server.url}/speak", json={"name": "s3voice", "text": "Stored in S3.",
                                                        "response_format": "wav"}, timeout=60)
    assert decode(spoken.content, "wav")[1] == 22050


def test_task_results_are_written_to_and_served_from_s3(server, s3):
    _, client = s3
    requests.post(f"{server.url}/generate_audio_enhanced_async",
                  json={"step_id": "s3task", "text": "A result in object storage.", "reference_id": "joe",
                        "format": "wav"}, timeout=30)
    for _ in range(100):
        if requests.get(f"{server.url}/get_task_status/s3task").json()["status"] == "completed":
            break
        time.sleep(0.2)
    assert any(k.startswith("tasks/results/") for k in keys(client))
    result = requests.get(f"{server.url}/download_result/s3task", timeout=30)
    assert len(decode(result.content, "wav")[0]) > 10000
