"""Orpheus in a Celery worker (threads pool) behind a relaying daphne: the production layout.

The worker streams each segment's audio in pieces through the job's Redis stream while tokens
are still being generated; the same seed gives the same audio as in the web process itself.
"""
import concurrent.futures

import pytest
import requests

from tests import llm_checkpoints as tiny
from tests.audio import decode
from tests.liveserver import LiveServer
from ttsproject.processes import CeleryWorker, RedisServer

pytest.importorskip("torch")
pytestmark = [pytest.mark.live_server]


@pytest.fixture(scope="module")
def llm_cluster(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("llm-cluster")
    redis_server = RedisServer(workdir).start()
    env = {"TTS_ENGINES": "orpheus", "TTS_DEFAULT_VOICE": "tara", "TTS_DATA_DIR": str(workdir),
           "ORPHEUS_MODEL_PATH": tiny.make_orpheus(workdir / "orpheus"), "SNAC_PATH": tiny.make_snac(workdir / "snac"),
           "TTS_LLM_BATCH_SIZE": "4", "TTS_WAIT_TIMEOUT": "0.05", "TTS_WORKERS": "4"}
    (workdir / "local").mkdir()
    local = LiveServer(workdir / "local", env={**env, "TTS_DATA_DIR": str(workdir / "local")}).wait_ready()  # no REDIS_URL: synthesizes in-process
    relay = LiveServer(workdir, env={**env, "REDIS_URL": redis_server.url})
    worker = CeleryWorker(workdir, {**env, "REDIS_URL": redis_server.url}, concurrency=4).wait_ready()
    relay.wait_ready()  # ready once the worker has announced itself
    yield {"relay": relay.url, "local": local.url, "redis": redis_server.url, "worker": worker}
    worker.stop()
    relay.stop()
    local.stop()
    redis_server.stop()


def speak(url, text, seed, fmt="wav"):
    """The body of a streamed /speak and the number of HTTP chunks it arrived in."""
    with requests.post(f"{url}/speak", json={"name": "tara", "text": text, "stream": True, "seed": seed,
                                             "response_format": fmt}, stream=True, timeout=120) as r:
        r.raise_for_status()
        parts = [part for part in r.iter_content(chunk_size=None) if part]
    return b"".join(parts), len(parts)


TEXT = "Hello from a worker. A second sentence follows."


def test_a_worker_streams_orpheus_pieces_through_redis_and_matches_in_process(llm_cluster):
    body, chunks = speak(llm_cluster["relay"], TEXT, seed=4)
    samples, rate = decode(body, "wav")
    assert rate == 16000 and len(samples) > 2048  # Flash-TTS streams WAV at 16 kHz
    assert chunks > 3  # two sentences arrived in more pieces than segments: streamed within segments
    assert body == speak(llm_cluster["relay"], TEXT, seed=4)[0]  # seeded: the same audio again
    assert body == speak(llm_cluster["local"], TEXT, seed=4)[0]  # ... and the same as in-process


def test_concurrent_requests_are_served_by_one_threaded_worker(llm_cluster):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        bodies = list(pool.map(lambda i: speak(llm_cluster["relay"], f"Request {i} speaks.", seed=i, fmt="mp3")[0],
                               range(4)))
    for body in bodies:
        assert decode(body, "mp3")[1] == 24000
