"""Async tasks through a real redis-server and a real Celery worker process, and the seed's clients."""
import time

import ormsgpack
import pytest
import requests

from tests.audio import decode, tone_wav
from tests.liveserver import LiveServer
from ttsproject.processes import CeleryWorker, RedisServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("celery")
    redis = RedisServer(workdir).start()
    env = {"REDIS_URL": redis.url, "TTS_ENGINES": "piper", "TTS_DATA_DIR": str(workdir)}
    server = LiveServer(workdir, env=env)  # ready once a worker has announced itself
    worker = CeleryWorker(workdir, env).wait_ready()
    server.wait_ready()
    server.worker = worker
    yield server
    worker.stop()
    server.stop()
    redis.stop()


def post_msgpack(url, body):
    return requests.post(url, params={"format": "msgpack"}, data=ormsgpack.packb(body),
                         headers={"content-type": "application/msgpack"}, timeout=60)


def wait_status(url, step_id, wanted, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = requests.get(f"{url}/get_task_status/{step_id}", timeout=10).json()
        if body["status"] in wanted:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{step_id} never reached {wanted}: {body}")


def test_a_celery_worker_runs_the_task(cluster):
    response = post_msgpack(f"{cluster.url}/generate_audio_enhanced_async",
                            {"step_id": "celery_001", "text": "Hello from a Celery worker.", "format": "wav",
                             "reference_id": "joe"})
    assert ormsgpack.unpackb(response.content)["status"] == "pending"
    wait_status(cluster.url, "celery_001", {"completed"})
    assert "tasks.tasks.run_generation" in cluster.worker.log_text()  # the worker ran it, not the web process
    audio = requests.get(f"{cluster.url}/download_result/celery_001", timeout=10)
    samples, rate = decode(audio.content, "wav")
    assert rate == 22050 and 1.0 < len(samples) / rate < 5.0


def test_a_stopped_celery_task_is_cancelled(cluster):
    text = "This sentence is here to make the task long. " * 20
    post_msgpack(f"{cluster.url}/generate_audio_enhanced_async",
                 {"step_id": "celery_stop", "text": text, "reference_id": "joe", "chunk_length": 100})
    wait_status(cluster.url, "celery_stop", {"processing", "completed"})
    requests.post(f"{cluster.url}/stop_async_task/celery_stop", timeout=10)
    body = wait_status(cluster.url, "celery_stop", {"cancelled", "completed"})
    assert body["status"] == "cancelled"


def test_the_seeds_msgpack_client_example(cluster):
    ref = requests.post(f"{cluster.url}/v1/references/add", files={"audio": ("ref.wav", tone_wav())},
                        data={"id": "my_voice", "text": "这是参考文本"}, timeout=30)
    assert ref.json()["reference_id"] == "my_voice"
    response = post_msgpack(f"{cluster.url}/v1/tts", {"text": "Hello, this is a test.", "format": "wav",
                                                      "reference_id": "my_voice", "streaming": False})
    assert response.status_code == 200
    assert decode(response.content, "wav")[1] == 22050


def test_the_seeds_json_client_example(cluster):
    response = requests.post(f"{cluster.url}/v1/tts?format=json",
                             json={"text": "Hello there.", "format": "wav", "reference_id": "joe",
                                   "streaming": True}, stream=True, timeout=60)
    chunks = [c for c in response.iter_content(chunk_size=1024) if c]
    assert response.status_code == 200 and len(decode(b"".join(chunks), "wav")[0]) > 10000
