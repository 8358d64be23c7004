"""The seeds' realtime clients against a live daphne with the real engines."""
import asyncio
import io
import json

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests import openspeech_client
from tests.audio import decode, tone_wav
from tests.liveserver import InterruptedStream, LiveServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("realtime"), "--api_key", "secret",
                      env={"TTS_ENGINES": "piper,kokoro"}).wait_ready()
    yield live
    live.stop()


AUTH = {"Authorization": "Bearer secret"}


def test_the_specs_sync_client(server, tmp_path):
    reference = tmp_path / "reference.wav"
    reference.write_bytes(tone_wav())
    with open(reference, "rb") as f:
        response = requests.post(f"{server.url}/inference_zero_shot", files={"prompt_wav": f},
                                 data={"tts_text": "Hello world, this is a test.", "prompt_text": "friendly",
                                       "stream": False}, headers=AUTH, timeout=60)
    assert response.status_code == 200 and response.headers["X-Sample-Rate"] == "16000"
    assert 1.0 < len(response.content) / 2 / 16000 < 5.0


def test_the_specs_async_client(server):
    import aiohttp

    async def run():
        async with aiohttp.ClientSession(headers=AUTH) as session:
            data = aiohttp.FormData()
            data.add_field("tts_text", "Testing the async client.")
            data.add_field("prompt_text", "describe")
            data.add_field("prompt_wav", io.BytesIO(tone_wav()), filename="reference.wav", content_type="audio/wav")
            data.add_field("stream", "true")
            async with session.post(f"{server.url}/inference_zero_shot", data=data) as response:
                return response.status, await response.read()

    status, body = asyncio.run(run())
    assert status == 200 and len(body) / 2 / 16000 > 0.8


def test_the_specs_websocket_client(server):
    import websockets

    async def run():
        uri = server.url.replace("http", "ws") + "/inference_zero_shot_bistream"
        received = []
        async with websockets.connect(uri, additional_headers=AUTH) as websocket:
            await websocket.send(json.dumps({"prompt_text": "friendly", "tts_model_name": "default"}))
            await websocket.send(tone_wav())
            texts = ["Hello", " there, this is", " a test. Goodbye"]
            for i, text in enumerate(texts):
                await websocket.send(json.dumps({"tts_text": text, "finish": i == len(texts) - 1}))
                received.append(await websocket.recv())
        return received

    chunks = asyncio.run(run())
    assert len(chunks) == 3 and all(isinstance(c, bytes) and len(c) > 1000 for c in chunks)


def test_the_openspeech_client_submits_and_queries(server):
    import websockets

    async def run(operation):
        uri = server.url.replace("http", "ws") + "/api/v1/tts/ws_binary"
        request = {"app": {"appid": "appid", "token": "secret", "cluster": "volcano_icl"}, "user": {"uid": "u"},
                   "audio": {"voice_type": "S_nLVvYpzH1", "encoding": "mp3", "speed_ratio": 1.0,
                             "volume_ratio": 1.0, "pitch_ratio": 1.0},
                   "request": {"reqid": "id", "text": "字节跳动语音合成。Hello from the binary protocol.",
                               "text_type": "plain", "operation": operation}}
        audio, sequences = b"", []
        async with websockets.connect(uri, additional_headers={"Authorization": "Bearer; secret"},
                                      ping_interval=None) as ws:
            await ws.send(openspeech_client.build_client_frame(request))
            while True:
                kind, number, payload = openspeech_client.parse_server_frame(await ws.recv())
                assert kind == "audio", payload
                sequences.append(number)
                audio += payload
                if number < 0:
                    break
        return audio, sequences

    for operation in ("submit", "query"):
        audio, sequences = asyncio.run(run(operation))
        # frames numbered 1, 2, ... as their audio exists, the last one negative
        assert sequences == [*range(1, len(sequences)), -len(sequences)]
        samples, rate = decode(audio, "mp3")
        assert rate == 24000 and len(samples) / rate > 1.0  # Mandarin first: Kokoro's zf_xiaobei speaks


def test_interrupt_and_restart_by_session_id_over_http(server):
    text = ("This is a test content used to test the technological breakthroughs and specific implementation "
            "of artificial intelligence in the field of sound cloning. ") * 6
    stream = InterruptedStream(f"{server.url}/api/tts/stream", {"text": text, "session_id": "live"}, AUTH)
    assert stream.first_audio.wait(60)
    assert stream.headers["X-Session-Id"] == "live"
    assert requests.post(f"{server.url}/api/tts/interrupt", json={"session_id": "live"}, headers=AUTH).json() == \
        {"ok": True}
    stream.mark_interrupted()
    assert stream.join(30)
    # mp3 at 64 kbit/s: one segment of at most ~8 s of speech is under 70 kB
    assert stream.bytes_after < 70_000
    assert len(decode(stream.audio, "mp3")[0]) > 0
    restart = requests.post(f"{server.url}/api/tts/stream", json={"text": "Starting over.", "session_id": "live"},
                            headers=AUTH, timeout=60)
    assert len(decode(restart.content, "mp3")[0]) > 0


def test_metrics_are_scraped_and_the_counters_move(server):
    def samples():
        text = requests.get(f"{server.url}/metrics", headers=AUTH).text
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    before = samples()
    requests.post(f"{server.url}/speak", json={"name": "joe", "text": "Count me.", "response_format": "wav"},
                  headers=AUTH)
    requests.post(f"{server.url}/speak", json={"name": "nobody", "text": "x"}, headers=AUTH)
    after = samples()
    key = ("lightllm_request_count_total", (("dialect", "flashtts"), ("endpoint", "/speak")))
    assert after[key] - before.get(key, 0) == 2
    ok = ("lightllm_request_success_total", (("dialect", "flashtts"), ("endpoint", "/speak")))
    bad = ("lightllm_request_failure_total", (("dialect", "flashtts"), ("endpoint", "/speak")))
    assert after[ok] - before.get(ok, 0) == 1 and after[bad] - before.get(bad, 0) == 1
    assert any(name == "tts_time_to_first_audio_seconds_count" and dict(labels).get("engine") == "piper"
               for name, labels in after)
    assert ("tts_queue_depth", ()) in after


def test_probes_need_no_key_but_metrics_do(server):
    for path in ("/healthz", "/health", "/liveness", "/readiness"):
        assert requests.get(f"{server.url}{path}").json() == {"message": "Ok"}
    assert requests.get(f"{server.url}/api/healthz").status_code == 200
    assert requests.get(f"{server.url}/metrics").status_code == 401
