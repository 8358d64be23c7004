import base64
import json

import pytest

from tests.audio import body_of, chunks_of, decode

pytestmark = pytest.mark.django_db


def speech(client, **body):
    payload = {"model": "tts-1", "voice": "fake_a", "input": "one two three four five", **body}
    return client.post("/v1/audio/speech", payload, content_type="application/json")


@pytest.mark.parametrize("fmt", ["mp3", "wav", "opus", "aac", "flac", "pcm"])
def test_speech_returns_audio_in_the_asked_format(client, fake_voices, fmt):
    response = speech(client, response_format=fmt)
    assert response.status_code == 200
    samples, rate = decode(body_of(response), fmt, int(response["X-Sample-Rate"]))
    assert len(samples) / rate == pytest.approx(5 * 0.12 + 0.18, abs=0.12)
    if fmt in ("pcm", "wav"):  # OpenAI documents pcm as 24 kHz; clients play it without a header
        assert rate == 24000


def test_speech_defaults_to_mp3(client, fake_voices):
    response = speech(client)
    assert response["Content-Type"] == "audio/mpeg"


def test_speed_is_a_float_that_changes_duration(client, fake_voices):
    normal = len(decode(body_of(speech(client, response_format="wav")), "wav")[0])
    double = len(decode(body_of(speech(client, response_format="wav", speed=2.0)), "wav")[0])
    assert double < normal * 0.7


def test_stock_openai_voice_names_map_to_the_default_voice(client, fake_voices):
    assert speech(client, voice="alloy").status_code == 200


def test_sse_streams_delta_events_then_done(client, fake_voices):
    response = speech(client, stream_format="sse", response_format="pcm", input="one two. three four.")
    assert response["Content-Type"] == "text/event-stream"
    events = [json.loads(line[6:]) for line in b"".join(chunks_of(response)).decode().split("\n\n")
              if line.startswith("data: ")]
    assert events[-1]["type"] == "speech.audio.done"
    assert {e["type"] for e in events[:-1]} == {"speech.audio.delta"}
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert len(audio) // 2 / 16000 > 0.4


def test_an_unknown_voice_gets_an_openai_shaped_404(client, fake_voices):
    response = speech(client, voice="nobody")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["param"] == "voice" and error["type"] == "invalid_request_error"


def test_out_of_range_speed_is_an_openai_shaped_400(client, fake_voices):
    response = speech(client, speed=9)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "speed"


def test_missing_input_is_refused(client, fake_voices):
    response = client.post("/v1/audio/speech", {"voice": "fake_a"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input"


def test_models_lists_engines(client, fake_voices):
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert "fake" in ids and "tts-1" in ids


def test_voices_lists_the_catalog(client, fake_voices):
    data = client.get("/v1/audio/voices").json()["data"]
    assert [v["id"] for v in data] == ["fake_a", "fake_b"]
    assert data[0]["engine"] == "fake"
