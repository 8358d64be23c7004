"""End to end against a real daphne process with the real engines."""
import pytest
import requests

from tests.audio import decode
from tests.liveserver import LiveServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("live"), env={"TTS_ENGINES": "piper,kokoro"}).wait_ready()
    yield live
    live.stop()


def test_the_openai_sdk_streams_speech_to_a_file(server, tmp_path):
    from openai import OpenAI

    client = OpenAI(base_url=f"{server.url}/v1", api_key="not-needed")
    out = tmp_path / "out.wav"
    with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="joe", input="Hello from the OpenAI SDK.", response_format="wav") as response:
        response.stream_to_file(out)
    samples, rate = decode(out.read_bytes(), "wav")
    assert rate == 24000 and 0.8 < len(samples) / rate < 4.0  # OpenAI streams at its documented 24 kHz


def test_the_openai_sdk_sees_errors_as_exceptions(server):
    from openai import NotFoundError, OpenAI

    client = OpenAI(base_url=f"{server.url}/v1", api_key="not-needed")
    with pytest.raises(NotFoundError):
        client.audio.speech.create(model="tts-1", voice="nobody", input="hi")


def test_a_stream_over_http_decodes_from_its_first_chunk(server):
    text = "First, a short clause. " + "Then a longer sentence follows it to make the stream long. " * 4
    with requests.post(f"{server.url}/speak", json={"name": "jf_alpha", "text": text, "stream": True,
                                                    "response_format": "mp3"}, stream=True, timeout=60) as r:
        assert r.status_code == 200
        assert r.headers.get("Transfer-Encoding") == "chunked"
        chunks = [c for c in r.iter_content(chunk_size=None) if c]
    assert len(chunks) > 2
    first, rate = decode(chunks[0], "mp3")
    assert rate == 24000 and len(first) > 0
    whole, _ = decode(b"".join(chunks), "mp3")
    assert len(whole) / rate > 8


def test_health_and_readiness(server):
    assert requests.get(f"{server.url}/healthz").json() == {"message": "Ok"}
    assert requests.get(f"{server.url}/readiness").json() == {"message": "Ok"}
    assert "joe" in requests.get(f"{server.url}/audio_roles").json()["roles"]
