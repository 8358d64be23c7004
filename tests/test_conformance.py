"""Drop-in conformance: the calls each seed's client examples make (../shared/seeds), unchanged,
over real HTTP and WebSockets against a live server on the embedded defaults. Each check decodes
the audio; the seeds' Chinese examples must come back as Mandarin speech (Whisper)."""
import asyncio
import base64
import json
import time

import aiohttp
import ormsgpack
import pytest
import requests
import websockets

from bench.common import error_rate_of, transcribe, whisper_model
from tests import openspeech_client
from tests.audio import decode
from tests.liveserver import LiveServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]
AUTH = {"authorization": "Bearer YOUR_API_KEY"}  # the seeds send it; this server has no key, so it is ignored
heard_mandarin: list[tuple[str, str]] = []  # (said, heard) of every Chinese example


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("conformance"), env={"TTS_ENGINES": "piper,kokoro"}).wait_ready()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def base_url(server):
    return server.url


@pytest.fixture(scope="module")
def whisper(tmp_path_factory):
    return whisper_model(tmp_path_factory.mktemp("whisper"))


@pytest.fixture(scope="module")
def ref_wav(base_url, tmp_path_factory):
    """The seeds' ref.wav: a few seconds of Mandarin speech."""
    response = requests.post(f"{base_url}/speak", json={
        "name": "zm_yunxi", "text": "大家好，今天我们来聊一聊天气和周末的安排。", "response_format": "wav"})
    assert response.status_code == 200
    path = tmp_path_factory.mktemp("refs") / "ref.wav"
    path.write_bytes(response.content)
    return path


def mandarin(whisper, said, audio, fmt, rate=0):
    samples, sample_rate = decode(audio, fmt, rate)
    heard = transcribe(whisper, samples, sample_rate, "zh")
    heard_mandarin.append((said, heard))
    return samples, sample_rate


# --- Flash-TTS (000, 001) -------------------------------------------------------------------------
def test_flash_speak_with_the_male_preset(base_url, whisper):
    payload = {"name": "male", "text": "你好，世界！", "pitch": "moderate", "speed": "moderate", "temperature": 0.9,
               "top_k": 50, "top_p": 0.95, "max_tokens": 2048, "stream": False, "response_format": "mp3"}
    resp = requests.post(f"{base_url}/speak", json=payload)
    assert resp.status_code == 200, resp.text
    mandarin(whisper, payload["text"], resp.content, "mp3")


def test_flash_clone_with_base64_in_a_form(base_url, ref_wav, whisper):
    b64 = base64.b64encode(ref_wav.read_bytes()).decode()
    payload = {"text": "克隆这段声音", "reference_audio": b64, "temperature": 0.9, "top_k": 50, "top_p": 0.95,
               "max_tokens": 2048, "stream": False, "response_format": "mp3"}
    resp = requests.post(f"{base_url}/clone_voice", data=payload)
    assert resp.ok, resp.text
    mandarin(whisper, payload["text"], resp.content, "mp3")


def test_flash_clone_with_a_file_upload(base_url, ref_wav, whisper):
    payload = {"text": "克隆音频", "temperature": 0.9}
    with open(ref_wav, "rb") as f:
        resp = requests.post(f"{base_url}/clone_voice", data=payload, files={"reference_audio_file": f})
    assert resp.ok, resp.text
    mandarin(whisper, payload["text"], resp.content, "mp3")


def test_flash_streaming_clone_plays_at_the_16_khz_the_example_assumes(base_url, ref_wav):
    b64 = base64.b64encode(ref_wav.read_bytes()).decode()
    data = {"text": "这是一段流式克隆的语音。", "reference_audio": b64, "stream": True, "response_format": "wav"}
    resp = requests.post(f"{base_url}/clone_voice", data=data, stream=True)
    body = b"".join(resp.iter_content(1024))
    assert resp.status_code == 200 and int.from_bytes(body[24:28], "little") == 16000
    samples, rate = decode(body, "wav")
    assert rate == 16000 and len(samples) / rate > 1.0


def test_flash_curl_clone_with_the_seeds_fields(base_url, ref_wav):
    with open(ref_wav, "rb") as f:
        resp = requests.post(f"{base_url}/clone_voice", headers={"Authorization": "Bearer YOUR_API_KEY"},
                             data={"text": "你好，世界", "stream": "false", "response_format": "wav"},
                             files={"reference_audio_file": f})
    assert resp.status_code == 200 and decode(resp.content, "wav")[0].size > 0


def test_flash_multi_speak_with_the_seeds_roles(base_url, whisper):
    body = {"text": "<role:female> 你好！<role:male> 我很好，谢谢！", "temperature": 0.8, "top_k": 50, "top_p": 0.95,
            "repetition_penalty": 1.0, "max_tokens": 4096, "length_threshold": 50, "window_size": 50,
            "stream": True, "response_format": "wav"}
    resp = requests.post(f"{base_url}/multi_speak", json=body, stream=True)
    audio = b"".join(resp.iter_content(None))
    assert resp.status_code == 200
    mandarin(whisper, "你好！我很好，谢谢！", audio, "wav")


def test_flash_add_list_and_delete_a_speaker(base_url, ref_wav, tmp_path):
    latent = tmp_path / "speaker_latent.npy"
    latent.write_bytes(b"\x93NUMPY")  # a Mega engine's latent: accepted, not used by these engines
    with open(ref_wav, "rb") as audio, open(latent, "rb") as latent_file:
        resp = requests.post(f"{base_url}/add_speaker", data={"name": "new_speaker", "reference_text": "示例音频描述"},
                             files={"audio_file": audio, "latent_file": latent_file})
    assert resp.status_code == 200 and resp.json() == {"success": True, "role": "new_speaker"}
    assert "new_speaker" in requests.get(f"{base_url}/audio_roles").json()["roles"]
    assert requests.get(f"{base_url}/v1/audio_roles").json()["success"] is True
    resp = requests.post(f"{base_url}/delete_speaker", data={"name": "new_speaker"})
    assert resp.status_code == 200 and resp.json() == {"success": True, "role": "new_speaker"}


def test_openai_sdk_with_a_role_name_and_with_base64_audio(base_url, ref_wav, whisper, tmp_path):
    from openai import NotFoundError, OpenAI

    client = OpenAI(base_url=f"{base_url}/v1", api_key="not-needed")
    with pytest.raises(NotFoundError, match="赞助商"):  # a role this server does not have: a clear 404
        client.audio.speech.create(model="spark", voice="赞助商", input="你好，我是无敌的小可爱。")
    with open(ref_wav, "rb") as f:
        assert requests.post(f"{base_url}/add_speaker", data={"name": "赞助商"}, files={"audio_file": f}).ok
    with client.audio.speech.with_streaming_response.create(model="spark", voice="赞助商",
                                                            input="你好，我是无敌的小可爱。") as response:
        response.stream_to_file(tmp_path / "out.mp3")
    mandarin(whisper, "你好，我是无敌的小可爱。", (tmp_path / "out.mp3").read_bytes(), "mp3")
    audio_base64 = base64.b64encode(ref_wav.read_bytes()).decode("utf-8")
    with client.audio.speech.with_streaming_response.create(model="spark", voice=audio_base64,
                                                            input="你好，我是无敌的小可爱。") as response:
        response.stream_to_file(tmp_path / "clone.mp3")
    assert decode((tmp_path / "clone.mp3").read_bytes(), "mp3")[0].size > 0


def test_openai_pcm_is_24_khz_as_documented(base_url):
    resp = requests.post(f"{base_url}/v1/audio/speech", json={"model": "tts-1", "voice": "alloy",
                                                              "input": "Hello there.", "response_format": "pcm"})
    assert resp.status_code == 200 and resp.headers["X-Sample-Rate"] == "24000"


# --- Fish Speech (002) ----------------------------------------------------------------------------
def test_fish_health_answers_get_and_post(base_url):
    assert requests.get(f"{base_url}/v1/health").json() == {"status": "ok"}
    assert requests.post(f"{base_url}/v1/health").json() == {"status": "ok"}


def test_fish_references_add_list_update_delete(base_url, ref_wav):
    with open(ref_wav, "rb") as audio_file:
        response = requests.post(f"{base_url}/v1/references/add", files={"audio": audio_file},
                                 data={"id": "my_voice", "text": "这是参考文本"}, headers=AUTH)
    assert response.json() == {"success": True, "message": "Reference voice 'my_voice' added successfully",
                               "reference_id": "my_voice"}
    assert "my_voice" in requests.get(f"{base_url}/v1/references/list", headers=AUTH).json()["reference_ids"]
    response = requests.post(f"{base_url}/v1/references/update", headers=AUTH,
                             json={"old_reference_id": "my_voice", "new_reference_id": "new_name"})
    assert response.json()["new_reference_id"] == "new_name"
    response = requests.delete(f"{base_url}/v1/references/delete", json={"reference_id": "new_name"}, headers=AUTH)
    assert response.json()["success"] is True
    with open(ref_wav, "rb") as audio_file:  # the voice the following examples name
        assert requests.post(f"{base_url}/v1/references/add", files={"audio": audio_file},
                             data={"id": "my_voice", "text": "这是参考文本"}, headers=AUTH).ok


def test_fish_tts_msgpack_json_and_references(base_url, ref_wav, whisper):
    data = {"text": "你好，这是测试文本", "format": "wav", "reference_id": "my_voice", "streaming": False}
    response = requests.post(f"{base_url}/v1/tts", params={"format": "msgpack"}, data=ormsgpack.packb(data),
                             headers={**AUTH, "content-type": "application/msgpack"})
    assert response.status_code == 200, response.content[:200]
    mandarin(whisper, data["text"], response.content, "wav")
    response = requests.post(f"{base_url}/v1/tts?format=json", json=data, headers=AUTH)
    assert response.status_code == 200 and response.headers["Content-Disposition"] == "attachment; filename=audio.wav"
    refs = {"text": "你好，这是测试文本", "format": "wav",
            "references": [{"audio": ref_wav.read_bytes(), "text": "大家好，今天我们来聊一聊天气和周末的安排。"}]}
    response = requests.post(f"{base_url}/v1/tts", params={"format": "msgpack"}, data=ormsgpack.packb(refs),
                             headers={**AUTH, "content-type": "application/msgpack"})
    assert response.status_code == 200 and decode(response.content, "wav")[0].size > 0


def test_fish_curl_without_a_reference_speaks_mandarin(base_url, whisper):
    response = requests.post(f"{base_url}/v1/tts?format=json", json={"text": "测试文本", "format": "wav"},
                             headers={"Content-Type": "application/json", "Authorization": "Bearer YOUR_API_KEY"})
    assert response.status_code == 200
    mandarin(whisper, "测试文本", response.content, "wav")


def test_fish_streaming_plays_at_the_44_1_khz_the_example_assumes(base_url):
    data = {"text": "这是一段较长的文本，适合流式输出。我们一边生成一边播放。", "format": "wav", "streaming": True}
    response = requests.post(f"{base_url}/v1/tts", params={"format": "msgpack"}, data=ormsgpack.packb(data),
                             headers={**AUTH, "content-type": "application/msgpack"}, stream=True)
    chunks = [chunk for chunk in response.iter_content(chunk_size=1024) if chunk]
    audio = b"".join(chunks)
    assert response.status_code == 200 and len(chunks) > 1
    assert int.from_bytes(audio[24:28], "little") == 44100
    assert decode(audio, "wav")[0].size > 44100


def test_fish_async_task_with_msgpack(base_url):
    data = {"step_id": "task_001", "text": "这是一段需要异步处理的文本", "format": "mp3", "reference_id": "my_voice"}
    response = requests.post(f"{base_url}/generate_audio_enhanced_async", params={"format": "msgpack"},
                             data=ormsgpack.packb(data), headers={**AUTH, "content-type": "application/msgpack"})
    result = ormsgpack.unpackb(response.content)
    assert (result["step_id"], result["status"]) == ("task_001", "pending")
    for _ in range(600):
        status = requests.get(f"{base_url}/get_task_status/task_001", headers=AUTH).json()
        if status["status"] not in ("pending", "processing"):
            break
        time.sleep(0.1)
    assert status["status"] == "completed" and status["download_url"] == "/download_result/task_001"
    download = requests.get(f"{base_url}/download_result/task_001", headers=AUTH)
    assert decode(download.content, "mp3")[0].size > 0
    assert requests.post(f"{base_url}/stop_generation", headers=AUTH).json()["success"] is True
    assert requests.post(f"{base_url}/stop_async_task/task_001", headers=AUTH).json()["step_id"] == "task_001"


def test_fish_vqgan_says_clearly_that_no_codec_is_loaded(base_url, ref_wav):
    response = requests.post(f"{base_url}/v1/vqgan/encode", params={"format": "msgpack"},
                             data=ormsgpack.packb({"audios": [ref_wav.read_bytes()]}),
                             headers={**AUTH, "content-type": "application/msgpack"})
    assert response.status_code == 501 and "codec" in ormsgpack.unpackb(response.content)["detail"]


# --- LightTTS (003) -------------------------------------------------------------------------------
def test_lighttts_sync_client(base_url, ref_wav, whisper):
    with open(ref_wav, "rb") as f:
        response = requests.post(f"{base_url}/inference_zero_shot", files={"prompt_wav": f},
                                 data={"tts_text": "你好世界", "prompt_text": "友好自然的声音", "stream": False})
    assert response.status_code == 200
    mandarin(whisper, "你好世界", response.content, "pcm", 16000)


def test_lighttts_async_client(base_url, ref_wav):
    async def async_synthesize(text, prompt_text, audio_file):
        async with aiohttp.ClientSession() as session:
            with open(audio_file, "rb") as f:
                data = aiohttp.FormData()
                data.add_field("tts_text", text)
                data.add_field("prompt_text", prompt_text)
                data.add_field("prompt_wav", f, filename="reference.wav", content_type="audio/wav")
                data.add_field("stream", "false")
                async with session.post(f"{base_url}/inference_zero_shot", data=data) as response:
                    return response.status, await response.read()

    status, audio = asyncio.run(async_synthesize("测试文本", "描述", ref_wav))
    assert status == 200 and len(audio) / 2 / 16000 > 0.5


def test_lighttts_query_models_lists_cosyvoice2(base_url):
    assert "CosyVoice2" in requests.get(f"{base_url}/query_tts_model").json()["tts_models"]
    assert "CosyVoice2" in requests.post(f"{base_url}/query_tts_model").json()["tts_models"]


def test_lighttts_bistream_client_with_cosyvoice2(base_url, ref_wav):
    async def bidirectional_tts():
        uri = base_url.replace("http", "ws") + "/inference_zero_shot_bistream"
        received = []
        async with websockets.connect(uri) as websocket:
            await websocket.send(json.dumps({"prompt_text": "友好自然的声音", "tts_model_name": "CosyVoice2"}))
            await websocket.send(ref_wav.read_bytes())
            texts = ["你好", "这是一个测试", "再见"]
            for i, text in enumerate(texts):
                await websocket.send(json.dumps({"tts_text": text, "finish": i == len(texts) - 1}))
                received.append(await websocket.recv())
        return received

    chunks = asyncio.run(bidirectional_tts())
    assert len(chunks) == 3 and all(isinstance(c, bytes) and len(c) > 1000 for c in chunks)


def test_lighttts_probes(base_url):
    for path in ("/healthz", "/health", "/liveness", "/readiness"):
        assert requests.get(f"{base_url}{path}").json() == {"message": "Ok"}


# --- OpenSpeech (004) -----------------------------------------------------------------------------
def test_openspeech_binary_submit_and_query(base_url, whisper):
    async def run(operation):
        request = {"app": {"appid": "appid", "token": "access_token", "cluster": "volcano_icl"},
                   "user": {"uid": "uid"},
                   "audio": {"voice_type": "S_nLVvYpzH1", "encoding": "mp3", "speed_ratio": 1.0,
                             "volume_ratio": 1.0, "pitch_ratio": 1.0},
                   "request": {"reqid": "reqid", "text": "字节跳动语音合成。", "text_type": "plain",
                               "operation": operation}}
        audio = b""
        async with websockets.connect(base_url.replace("http", "ws") + "/api/v1/tts/ws_binary",
                                      additional_headers={"Authorization": "Bearer; access_token"},
                                      ping_interval=None) as ws:
            await ws.send(openspeech_client.build_client_frame(request))
            while True:
                kind, number, payload = openspeech_client.parse_server_frame(await ws.recv())
                assert kind == "audio", payload
                audio += payload
                if number < 0:
                    return audio

    for operation in ("submit", "query"):
        mandarin(whisper, "字节跳动语音合成。", asyncio.run(run(operation)), "mp3")


def test_openspeech_stream_interrupt_and_restart(base_url, whisper):
    with requests.post(f"{base_url}/api/tts/stream", json={"text": "流式音频测试", "session_id": "demo"},
                       stream=True) as r:
        r.raise_for_status()
        assert r.headers.get("X-Session-Id") == "demo"
        audio = b"".join(chunk for chunk in r.iter_content(chunk_size=8192) if chunk)
    mandarin(whisper, "流式音频测试", audio, "mp3")
    assert requests.post(f"{base_url}/api/tts/interrupt", json={"session_id": "demo"}).status_code == 404
    restarted = requests.post(f"{base_url}/api/tts/stream", json={"text": "新的文本", "session_id": "demo"})
    assert decode(restarted.content, "mp3")[0].size > 0
    assert requests.get(f"{base_url}/api/healthz").json() == {"status": "ok"}


# --- every POST route over real HTTP: no CSRF cookie, the dialect's error shape -------------------
POST_ROUTES = ["/speak", "/v1/speak", "/multi_speak", "/v1/multi_speak", "/clone_voice", "/v1/clone_voice",
               "/add_speaker", "/v1/add_speaker", "/delete_speaker", "/v1/delete_speaker", "/v1/audio/speech",
               "/v1/tts", "/v1/references/add", "/v1/references/update", "/v1/vqgan/encode", "/v1/vqgan/decode",
               "/generate_audio_enhanced_async", "/stop_generation", "/stop_async_task/none", "/inference_zero_shot",
               "/query_tts_model", "/api/tts/stream", "/api/tts/interrupt", "/v1/health"]


@pytest.mark.parametrize("path", POST_ROUTES)
def test_no_post_route_needs_a_csrf_cookie_and_errors_are_json(base_url, path):
    response = requests.post(f"{base_url}{path}", json={})
    assert response.status_code != 403, response.text[:200]
    assert response.headers["Content-Type"].startswith(("application/json", "application/msgpack")), path
    assert response.status_code < 500 or (path.startswith("/v1/vqgan") and response.status_code == 501)


def test_the_seeds_chinese_examples_came_back_as_mandarin():
    """Pooled over every Chinese example above (this module's tests run first). Whisper base on these
    short phrases: about 13 % CER, much of it homophones (克隆 -> 课龙, 流式 -> 流是); an English-only
    voice (what answered these before) says "Chinese letter" and scores near 100 %."""
    assert len(heard_mandarin) >= 10
    assert error_rate_of(heard_mandarin, "zh") <= 0.15, heard_mandarin
