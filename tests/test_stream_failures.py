"""No response starts before its first audio: a failure before it is a proper status with the
dialect's error body; a failure after it ends the stream cleanly, logged and counted."""
import asyncio
import base64
import json

import pytest
from prometheus_client import REGISTRY

from synthesis import protocol_openspeech as proto

from tests import openspeech_client
from tests.audio import body_of, decode, tone_wav
from tests.fakes import FakeEngine

pytestmark = pytest.mark.django_db

FIRST_FAILS = "Broken first sentence here."
SECOND_FAILS = "Fine first sentence here. Broken second sentence now."

STREAMS = {  # path -> (body builder, content type, audio format)
    "flashtts": ("/speak", lambda text: {"name": "fake_a", "text": text, "stream": True, "response_format": "wav"},
                 "wav"),
    "openai": ("/v1/audio/speech", lambda text: {"model": "tts-1", "voice": "fake_a", "input": text,
                                                  "response_format": "wav"}, "wav"),
    "fish": ("/v1/tts", lambda text: {"text": text, "reference_id": "fake_a", "streaming": True, "format": "wav"},
             "wav"),
    "openspeech": ("/api/tts/stream", lambda text: {"text": text, "voice_type": "fake_a"}, "mp3"),
}


def count(dialect, stage):
    return REGISTRY.get_sample_value("tts_synthesis_failures_total", {"dialect": dialect, "stage": stage}) or 0


@pytest.fixture
def broken(fake_voices):
    FakeEngine.fail_on = "Broken"


@pytest.mark.parametrize("dialect", STREAMS)
def test_a_failure_before_the_first_audio_is_a_status_with_the_dialects_error_body(client, broken, dialect):
    path, body, _ = STREAMS[dialect]
    before = count(dialect, "before_audio")
    response = client.post(path, body(FIRST_FAILS), content_type="application/json")
    assert response.status_code == 500
    assert not response.streaming
    error = response.json()
    message = error["error"]["message"] if dialect == "openai" else error["detail"]
    assert "synthesis failed" in message
    assert count(dialect, "before_audio") == before + 1


@pytest.mark.parametrize("dialect", STREAMS)
def test_a_failure_after_the_first_audio_ends_the_stream_cleanly_and_is_counted(client, broken, dialect):
    path, body, fmt = STREAMS[dialect]
    before = count(dialect, "after_audio")
    response = client.post(path, body(SECOND_FAILS), content_type="application/json")
    assert response.status_code == 200 and response.streaming
    samples, _ = decode(body_of(response), fmt)
    assert len(samples) > 0  # what was sent decodes to its end
    assert count(dialect, "after_audio") == before + 1


def test_lighttts_streaming_failure_before_audio_is_its_error_body(client, broken):
    response = client.post("/inference_zero_shot", {"tts_text": FIRST_FAILS, "prompt_text": "x", "stream": "true",
                                                    "prompt_wav": _upload()})
    assert response.status_code == 500
    assert response.json()["error_code"] == "INTERNAL_ERROR"


def test_a_cloned_stream_that_fails_first_is_a_status(client, broken):
    response = client.post("/clone_voice", {"text": FIRST_FAILS, "stream": "true", "response_format": "wav",
                                            "reference_audio": base64.b64encode(tone_wav()).decode()})
    assert response.status_code == 500 and "synthesis failed" in response.json()["detail"]


def test_sse_ends_with_an_error_event_after_audio(client, broken):
    response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "fake_a", "input": SECOND_FAILS,
                                                "response_format": "wav", "stream_format": "sse"},
                           content_type="application/json")
    assert response.status_code == 200
    events = [json.loads(line[6:]) for line in body_of(response).decode().splitlines() if line.startswith("data: ")]
    assert events[0]["type"] == "speech.audio.delta"
    assert events[-1]["type"] == "error" and "synthesis failed" in events[-1]["error"]["message"]


def test_sse_failing_before_audio_is_a_status(client, broken):
    response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "fake_a", "input": FIRST_FAILS,
                                                "stream_format": "sse"}, content_type="application/json")
    assert response.status_code == 500 and response.json()["error"]["code"] == "synthesis_failed"


@pytest.mark.django_db(transaction=True)
def test_the_binary_websocket_reports_a_failure_in_an_error_frame(broken):
    from channels.testing import WebsocketCommunicator

    from ttsproject.asgi import application

    async def scenario():
        communicator = WebsocketCommunicator(application, "/api/v1/tts/ws_binary")
        assert (await communicator.connect())[0]
        request = {"audio": {"voice_type": "fake_a", "encoding": "wav"},
                   "request": {"reqid": "r", "text": FIRST_FAILS, "operation": "submit"}}
        await communicator.send_to(bytes_data=openspeech_client.build_client_frame(request))
        kind, code, payload = openspeech_client.parse_server_frame(await communicator.receive_from(timeout=10))
        await communicator.disconnect()
        return kind, code, payload

    kind, code, payload = asyncio.run(scenario())
    assert (kind, code) == ("error", proto.SYNTHESIS_ERROR), payload
    assert b"synthesis failed" in payload


def _upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("ref.wav", tone_wav(), content_type="audio/wav")
