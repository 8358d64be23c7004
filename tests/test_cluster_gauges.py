"""Queue depth and active jobs in cluster mode, read from a real redis-server by a relaying daphne."""
import json
import threading
import time

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.liveserver import LiveServer
from ttsproject.processes import CeleryWorker, RedisServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]


@pytest.fixture
def cluster(tmp_path):
    redis_server = RedisServer(tmp_path).start()
    # a worker that announces piper and takes nothing: segments stay queued until a real one starts
    redis.Redis.from_url(redis_server.url).set("tts:worker:held", json.dumps(["piper"]), ex=600)
    env = {"REDIS_URL": redis_server.url, "TTS_ENGINES": "piper", "TTS_DATA_DIR": str(tmp_path),
           "TTS_ORT_THREADS": "1"}
    server = LiveServer(tmp_path, env=env).wait_ready()
    server.env, server.workdir, server.workers = env, tmp_path, []
    yield server
    for worker in server.workers:
        worker.stop()
    server.stop()
    redis_server.stop()


def gauges(url):
    families = text_string_to_metric_families(requests.get(f"{url}/metrics", timeout=10).text)
    return {s.name: s.value for f in families for s in f.samples if s.name in ("tts_queue_depth", "tts_active_jobs")}


def wait_gauges(url, wanted, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen = gauges(url)
        if seen == wanted:
            return
        time.sleep(0.2)
    raise AssertionError(f"gauges {seen} never became {wanted}")


def test_queued_segments_and_active_jobs_are_gauged_until_a_worker_renders_them(cluster):
    bodies = []

    def speak():
        with requests.post(f"{cluster.url}/speak", json={"name": "joe", "text": "Hello there. How are you?",
                                                         "stream": True, "response_format": "wav"},
                           stream=True, timeout=300) as r:
            bodies.append(b"".join(r.iter_content(chunk_size=None)))

    wait_gauges(cluster.url, {"tts_queue_depth": 0.0, "tts_active_jobs": 0.0})
    client = threading.Thread(target=speak)
    client.start()
    wait_gauges(cluster.url, {"tts_queue_depth": 1.0, "tts_active_jobs": 1.0})  # the first segment waits

    cluster.workers.append(CeleryWorker(cluster.workdir, cluster.env).wait_ready())
    client.join(timeout=300)
    assert bodies and len(bodies[0]) > 1000
    wait_gauges(cluster.url, {"tts_queue_depth": 0.0, "tts_active_jobs": 0.0})
