"""Spark cloning in a Celery worker behind a relaying daphne: the reference is analysed where the
request arrives, its latent travels with the job, and the worker speaks in that voice."""
import base64

import pytest
import requests

from tests import llm_checkpoints as tiny
from tests.audio import decode, tone_wav
from tests.liveserver import LiveServer
from ttsproject.processes import CeleryWorker, RedisServer

pytest.importorskip("torch")
pytestmark = [pytest.mark.live_server]


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("spark-cluster")
    redis_server = RedisServer(workdir).start()
    env = {"TTS_ENGINES": "spark", "TTS_CLONE_ENGINE": "spark", "TTS_DEFAULT_VOICE": "female",
           "TTS_DATA_DIR": str(workdir), "SPARK_MODEL_PATH": tiny.make_spark(workdir / "spark"),
           "TTS_LLM_DEVICE": "cpu", "TTS_LLM_BATCH_SIZE": "2", "TTS_WORKERS": "2"}
    (workdir / "local").mkdir()
    local = LiveServer(workdir / "local", env={**env, "TTS_DATA_DIR": str(workdir / "local")}).wait_ready()
    relay = LiveServer(workdir, env={**env, "REDIS_URL": redis_server.url})
    worker = CeleryWorker(workdir, {**env, "REDIS_URL": redis_server.url}, concurrency=2).wait_ready()
    relay.wait_ready()  # ready once the worker has announced itself
    yield {"relay": relay.url, "local": local.url}
    worker.stop()
    relay.stop()
    local.stop()
    redis_server.stop()


def clone(url, seed):
    body = {"model": "tts-1", "input": "Cloned in a worker. And streamed.", "response_format": "wav",
            "voice": base64.b64encode(tone_wav(seconds=2.0, freq=210.0)).decode(), "seed": seed}
    with requests.post(f"{url}/v1/audio/speech", json=body, timeout=120) as r:
        r.raise_for_status()
        return r.content


def test_a_worker_speaks_a_cloned_voice_and_matches_in_process(spark_cluster):
    body = clone(spark_cluster["relay"], seed=6)
    samples, rate = decode(body, "wav")
    assert rate == 24000 and len(samples) >= 320  # OpenAI's 24 kHz
    assert body == clone(spark_cluster["relay"], seed=6)
    assert body == clone(spark_cluster["local"], seed=6)
