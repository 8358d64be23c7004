"""Admission control, readiness under load and the busy-time short first segment, against the
local dispatcher with a gated fake engine."""
import threading

import pytest

from synthesis import pipeline, services
from synthesis.types import SynthesisRequest, Turn, VoiceRef
from tests.fakes import FakeEngine

pytestmark = pytest.mark.django_db

VOICE = VoiceRef("fake_a", "fake", "fake_a")
LONG = "First part here. Second sentence is here. Third sentence is here. Fourth one ends it."


def hold_a_job():
    """A job the gated engine keeps running (its first segment done, the next one waiting)."""
    FakeEngine.gate = threading.Event()
    FakeEngine.calls.clear()  # the fake lets its first call through, then waits at the gate
    job = services.start_synthesis(SynthesisRequest([Turn(VOICE, LONG)], window_size=4, length_threshold=4))
    next(iter(job))  # the first segment came: the job is now held in its second
    return job


def release(job):
    FakeEngine.gate.set()
    list(job)


def test_at_the_job_limit_a_request_gets_503_with_retry_after_and_readiness_says_overloaded(
        client, fake_voices, settings):
    settings.TTS_MAX_ACTIVE_JOBS = 1
    assert client.get("/readiness").json() == {"message": "Ok"}
    job = hold_a_job()
    try:
        response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "fake_a", "input": "one two"},
                               content_type="application/json")
        assert response.status_code == 503
        assert int(response["Retry-After"]) >= 1
        error = response.json()["error"]  # the OpenAI dialect's error shape
        assert "capacity" in error["message"] and "limit 1" in error["message"]

        response = client.post("/v1/tts", {"text": "one two", "reference_id": "fake_a", "format": "wav"},
                               content_type="application/json")
        assert response.status_code == 503 and int(response["Retry-After"]) >= 1
        assert "capacity" in response.json()["detail"]  # the Fish dialect's error shape

        ready = client.get("/readiness")
        assert ready.status_code == 503 and int(ready["Retry-After"]) >= 1
        assert ready.json()["message"] == "Overloaded" and "limit 1" in ready.json()["detail"]
    finally:
        release(job)
    assert client.get("/readiness").json() == {"message": "Ok"}
    response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "fake_a", "input": "one two"},
                           content_type="application/json")
    assert response.status_code == 200


def test_past_the_queued_seconds_bound_a_request_gets_503(client, fake_voices, settings):
    settings.TTS_MAX_QUEUED_SECONDS = 1  # the held job's remaining text is several seconds
    job = hold_a_job()
    try:
        assert services.get_dispatcher().stats()["queued_seconds"] >= 1
        response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "fake_a", "input": "one two"},
                               content_type="application/json")
        assert response.status_code == 503 and int(response["Retry-After"]) >= 1
        assert "queued" in response.json()["error"]["message"]
        assert client.get("/readiness").json()["message"] == "Overloaded"
    finally:
        release(job)


def test_when_busy_the_first_segment_is_shorter(fake_voices):
    text = "This is a rather long opening sentence, with several clauses, that goes on for a while. The end."
    request = SynthesisRequest([Turn(VOICE, text)])
    idle, busy = pipeline.plan(request), pipeline.plan(request, busy=True)
    assert len(busy[0].text) < len(idle[0].text)
    assert " ".join(s.text for s in busy).split() == " ".join(s.text for s in idle).split()  # nothing lost


def test_the_dispatcher_plans_a_short_first_segment_while_its_workers_are_busy(fake_voices, settings):
    settings.TTS_WORKERS = 1
    text = "This is a rather long opening sentence, with several clauses, that goes on for a while. The end."
    quiet = services.start_synthesis(SynthesisRequest([Turn(VOICE, text)]))
    list(quiet)
    quiet_first = FakeEngine.calls[0]
    job = hold_a_job()  # the single worker is busy with it
    try:
        FakeEngine.calls.clear()
        busy = services.start_synthesis(SynthesisRequest([Turn(VOICE, text)]))  # planned while busy
        FakeEngine.gate.set()
        list(busy)
    finally:
        release(job)
    busy_first = next(call for call in FakeEngine.calls if call.split()[0] == "This")
    assert len(busy_first) < len(quiet_first)
