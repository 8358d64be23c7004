"""A job no worker takes within TTS_QUEUE_TIMEOUT ends with a clear 503 to retry (Redis dispatch)."""
import json

import pytest

from synthesis import services
from synthesis.errors import Overloaded
from synthesis.dispatch import redis_streams
from synthesis.types import SynthesisRequest, Turn, VoiceRef
from ttsproject.processes import RedisServer

pytestmark = pytest.mark.django_db

VOICE = VoiceRef("fake_a", "fake", "fake_a")


@pytest.fixture
def stranded(tmp_path, settings):
    """A Redis dispatcher whose queued segments no worker takes (a worker is announced, none consumes)."""
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path).start()
    enqueued = []
    settings.TTS_QUEUE_TIMEOUT = 0.5
    dispatcher = redis_streams.CeleryDispatcher(
        server.url, lambda job_id, index, queue, priority: enqueued.append((job_id, index, queue)),
        services.registry.engine_class, queue_timeout=settings.TTS_QUEUE_TIMEOUT)
    dispatcher.redis.set("tts:worker:ghost", json.dumps(["fake"]))  # admission sees a worker
    services.set_dispatcher(dispatcher)
    yield dispatcher, enqueued
    services.set_dispatcher(None)
    server.stop()


def test_a_job_no_worker_takes_is_refused_with_the_queue_timeout(stranded, fake_voices):
    dispatcher, enqueued = stranded
    job = dispatcher.submit(SynthesisRequest([Turn(VOICE, "Nobody will say this.")]))
    assert enqueued and enqueued[0][1] == 0  # it was queued
    with pytest.raises(Overloaded, match=r"no synthesis worker took the job within 0.5 s") as refused:
        list(job)
    assert refused.value.retry_after >= 1
    assert job.cancelled


def test_over_http_the_queue_timeout_is_a_clear_error(stranded, client, fake_voices):
    response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "fake_a", "input": "one two"},
                           content_type="application/json")
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert "no synthesis worker took the job" in response.json()["error"]["message"]
