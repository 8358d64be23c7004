"""Seed 004: /api/tts/stream with session_id interrupt and restart (in-process)."""
import asyncio
import threading

import pytest
from django.test import AsyncClient

from tests.audio import decode
from tests.fakes import FakeEngine

pytestmark = pytest.mark.django_db(transaction=True)
LONG = "First part here. " + "Another sentence follows in this long text. " * 12


def test_it_streams_mp3_with_a_session_id(client, fake_voices):
    response = client.post("/api/tts/stream", {"text": "one two three. four five."},
                           content_type="application/json")
    assert response["Content-Type"] == "audio/mpeg" and response["X-Session-Id"]
    from tests.audio import body_of

    samples, rate = decode(body_of(response), "mp3")
    assert len(samples) / rate > 0.5 and int(response["X-Sample-Rate"]) == rate


def test_interrupting_an_unknown_session_is_404(client):
    response = client.post("/api/tts/interrupt", {"session_id": "ghost"}, content_type="application/json")
    assert response.status_code == 404


def test_an_interrupt_without_a_session_id_is_400(client):
    response = client.post("/api/tts/interrupt", {}, content_type="application/json")
    assert response.status_code == 400 and "session_id is required" in response.json()["detail"]


def test_an_interrupt_stops_the_stream_within_one_segment_and_it_still_decodes(fake_voices):
    FakeEngine.gate = threading.Event()

    async def scenario():
        client = AsyncClient()
        response = await client.post("/api/tts/stream", {"text": LONG, "session_id": "s1"},
                                     content_type="application/json")
        assert response["X-Session-Id"] == "s1"
        stream = aiter(response.streaming_content)
        before = [await anext(stream)]  # the first segment's audio
        interrupted = await client.post("/api/tts/interrupt", {"session_id": "s1"}, content_type="application/json")
        assert interrupted.json() == {"ok": True}
        FakeEngine.gate.set()
        after = [part async for part in stream]
        return b"".join(before), b"".join(after)

    before, after = asyncio.run(scenario())
    whole, rate = decode(before + after, "mp3")
    after_seconds = len(whole) / rate - len(decode(before, "mp3")[0]) / rate
    assert after_seconds < 0.12 * 10 + 0.3  # at most the one segment that was in flight
    assert len(FakeEngine.calls) <= 2


def test_a_new_request_with_the_same_session_interrupts_the_old_one(fake_voices):
    FakeEngine.gate = threading.Event()
    FakeEngine.gate_only = "Another sentence"  # the old stream's later segments wait; the new one speaks

    async def scenario():
        client = AsyncClient()
        old = await client.post("/api/tts/stream", {"text": LONG, "session_id": "s2"}, content_type="application/json")
        old_stream = aiter(old.streaming_content)
        await anext(old_stream)
        new = await client.post("/api/tts/stream", {"text": "fresh text.", "session_id": "s2"},
                                content_type="application/json")
        FakeEngine.gate.set()
        old_rest = [part async for part in old_stream]
        new_body = b"".join([part async for part in new.streaming_content])
        return old_rest, new_body

    old_rest, new_body = asyncio.run(scenario())
    assert len(decode(new_body, "mp3")[0]) > 0
    assert "fresh text." in FakeEngine.calls
    assert len([c for c in FakeEngine.calls if "Another sentence" in c]) <= 1
