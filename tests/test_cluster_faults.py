"""Scale-out against real processes: a redis-server, two Celery workers and a relaying daphne."""
import concurrent.futures
import os
import signal
import subprocess
import sys
import time

import pytest
import redis
import requests

from tests.audio import decode
from tests.liveserver import ROOT, LiveServer
from ttsproject.processes import CeleryWorker, RedisServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]
LONG = "This sentence keeps the synthesis workers busy for a little while. " * 14  # under 1000 characters


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cluster")
    redis_server = RedisServer(workdir).start()
    env = {"REDIS_URL": redis_server.url, "TTS_ENGINES": "piper", "TTS_DATA_DIR": str(workdir),
           "TTS_ORT_THREADS": "1", "TTS_TASK_STALE_SECONDS": "5"}
    server = LiveServer(workdir, env=env).wait_ready()
    workers = [CeleryWorker(workdir, env, name=f"w{i}").wait_ready() for i in (1, 2)]

    class Cluster:
        pass

    c = Cluster()
    c.url, c.redis, c.workers, c.env, c.workdir, c.server = server.url, redis_server, workers, env, workdir, server
    yield c
    for worker in c.workers:
        worker.stop()
    server.stop()
    c.redis.stop()


def stream(url, text, fmt="wav", timeout=120):
    with requests.post(f"{url}/speak", json={"name": "joe", "text": text, "stream": True,
                                             "response_format": fmt}, stream=True, timeout=timeout) as r:
        r.raise_for_status()
        return b"".join(r.iter_content(chunk_size=None))


def test_fifty_concurrent_streams_complete_and_decode(cluster):
    texts = [f"Stream number {i} says hello. It has two sentences." for i in range(50)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        bodies = list(pool.map(lambda t: stream(cluster.url, t), texts))
    for body in bodies:
        samples, rate = decode(body, "wav")
        assert rate == 22050 and len(samples) / rate > 1.5


def job_keys(client):
    return [k.decode() for k in client.scan_iter("tts:job:*:plan")]


def test_a_client_that_disconnects_stops_the_workers_within_one_segment(cluster):
    client = redis.Redis.from_url(cluster.redis.url)
    with requests.post(f"{cluster.url}/speak", json={"name": "joe", "text": LONG, "stream": True,
                                                     "response_format": "wav"}, stream=True, timeout=60) as r:
        r.raise_for_status()
        next(r.iter_content(chunk_size=4096))
        job_id = job_keys(client)[0].split(":")[2]
    time.sleep(1.5)
    assert client.exists(f"tts:job:{job_id}:cancel")
    produced = client.xlen(f"tts:job:{job_id}:chunks")
    time.sleep(2.0)
    assert client.xlen(f"tts:job:{job_id}:chunks") <= produced + 1  # at most the segment in flight
    assert produced < 14


def test_celery_streams_give_the_same_audio_as_in_process(cluster):
    body = stream(cluster.url, "Same audio from a worker.")
    assert decode(body, "wav")[1] == 22050


def test_redis_restart_is_survived_without_restarting_web_or_workers(cluster):
    port = cluster.redis.port
    cluster.redis.stop()
    time.sleep(1.0)
    cluster.redis = RedisServer(cluster.workdir, port=port).start()
    deadline, last_error = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        try:
            body = stream(cluster.url, "Back after a Redis restart.", timeout=30)
            assert len(decode(body, "wav")[0]) > 0
            return
        except (requests.RequestException, AssertionError) as e:
            last_error = e
            time.sleep(1.0)
    raise AssertionError(f"the service did not recover: {last_error}")


def test_killing_the_workers_mid_stream_ends_it_with_an_error_and_fails_the_task(cluster):
    task = requests.post(f"{cluster.url}/generate_audio_enhanced_async",
                         json={"step_id": "killed", "text": LONG, "reference_id": "joe", "chunk_length": 100})
    assert task.status_code == 200
    received = b""
    error = None
    with requests.post(f"{cluster.url}/speak", json={"name": "joe", "text": LONG, "stream": True,
                                                     "response_format": "mp3"}, stream=True, timeout=60) as r:
        r.raise_for_status()
        try:
            for i, chunk in enumerate(r.iter_content(chunk_size=None)):
                received += chunk
                if i == 1:
                    for worker in cluster.workers:
                        os.kill(worker.process.pid, signal.SIGKILL)
        except requests.exceptions.ChunkedEncodingError as e:
            error = e
    assert error is not None, "the stream must not end as if it were complete"
    assert len(decode(received, "mp3")[0]) > 0  # what arrived still decodes
    time.sleep(6)
    subprocess.run([sys.executable, "manage.py", "sweep_tasks"], cwd=ROOT, env={**os.environ, **cluster.env},
                   check=True, capture_output=True)
    status = requests.get(f"{cluster.url}/get_task_status/killed").json()["status"]
    assert status in ("failed", "completed"), status  # never left processing
    cluster.workers = [CeleryWorker(cluster.workdir, cluster.env, name="w3").wait_ready()]
