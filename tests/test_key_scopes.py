"""Every route family needs its scope: a key without it gets 403 in the dialect's error shape."""
import asyncio
import base64
import json

import pytest
from channels.testing import WebsocketCommunicator

from synthesis import protocol_openspeech as proto
from synthesis.api.scopes import scope_for
from synthesis.models import SCOPES
from tests import openspeech_client
from tests.audio import tone_wav
from tests.factories import bearer, make_key
from tests.test_auth import PROTECTED

ROUTES = [*PROTECTED, ("post", "/clone_voice"), ("post", "/v1/clone_voice"), ("post", "/v1/add_speaker"),
          ("post", "/v1/delete_speaker"), ("post", "/v1/multi_speak"), ("get", "/voices/fake_a/preview")]
EXPECTED = {"/clone_voice": "clone", "/inference_zero_shot": "clone", "/add_speaker": "voices",
            "/delete_speaker": "voices", "/v1/references/add": "voices", "/v1/references/delete": "voices",
            "/v1/references/update": "voices", "/generate_audio_enhanced_async": "tasks",
            "/get_task_status/x": "tasks", "/download_result/x": "tasks", "/stop_generation": "tasks",
            "/stop_async_task/x": "tasks", "/metrics": "metrics", "/speak": "speak", "/v1/audio/speech": "speak",
            "/v1/tts": "speak", "/audio_roles": "speak", "/v1/references/list": "speak", "/v1/models": "speak",
            "/query_tts_model": "speak", "/api/tts/stream": "speak", "/v1/vqgan/encode": "speak",
            "/voices/fake_a/preview": "speak"}


def call(client, method, path, key):
    return getattr(client, method)(path, **bearer(key))


def test_the_table_gives_each_family_its_scope():
    for path, scope in EXPECTED.items():
        assert scope_for(path) == scope, path
    assert scope_for("/v1/clone_voice") == "clone" and scope_for("/inference_zero_shot_bistream") == "clone"


@pytest.mark.django_db
@pytest.mark.parametrize("method, path", ROUTES)
def test_a_key_without_the_scope_gets_403_in_the_dialect_shape(client, fake_voices, method, path):
    needed = scope_for(path)
    response = call(client, method, path, make_key(scopes=[s for s in SCOPES if s not in (needed, "admin")]))
    assert response.status_code == 403
    body = response.json()
    message = {"openai": lambda: body["error"]["message"], "lighttts": lambda: body["detail"]}.get(
        "openai" if "error" in body else "lighttts" if "error_code" in body else "", lambda: body["detail"])()
    assert f"'{needed}' scope" in message


@pytest.mark.django_db
@pytest.mark.parametrize("method, path", ROUTES)
def test_a_key_with_only_that_scope_is_let_through(client, fake_voices, method, path):
    response = call(client, method, path, make_key(scopes=[scope_for(path)]))
    assert response.status_code not in (401, 403), response.content


@pytest.mark.django_db
@pytest.mark.parametrize("method, path", ROUTES)
def test_an_admin_key_may_use_every_route(client, fake_voices, method, path):
    assert call(client, method, path, make_key(scopes=["admin"])).status_code not in (401, 403)


@pytest.mark.django_db
def test_openai_speech_in_a_voice_made_of_audio_needs_clone(client, fake_voices):
    body = {"model": "tts-1", "input": "hello there", "voice": base64.b64encode(tone_wav()).decode(),
            "response_format": "wav"}
    refused = client.post("/v1/audio/speech", body, content_type="application/json", **bearer(make_key(["speak"])))
    assert refused.status_code == 403 and "'clone' scope" in refused.json()["error"]["message"]
    allowed = client.post("/v1/audio/speech", body, content_type="application/json",
                          **bearer(make_key(["speak", "clone"])))
    assert allowed.status_code == 200


@pytest.mark.django_db
def test_fish_references_need_clone(client, fake_voices):
    body = {"text": "hello there", "format": "wav",
            "references": [{"audio": base64.b64encode(tone_wav()).decode(), "text": "hi"}]}
    refused = client.post("/v1/tts", body, content_type="application/json", **bearer(make_key(["speak"])))
    assert refused.status_code == 403 and "'clone' scope" in refused.json()["detail"]
    speak_only = client.post("/v1/tts", {"text": "hello there", "format": "wav", "reference_id": "fake_a"},
                             content_type="application/json", **bearer(make_key(["speak"])))
    assert speak_only.status_code == 200


async def handshake(path, token):
    from ttsproject.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=[(b"authorization", f"Bearer {token}".encode())])
    assert (await communicator.connect())[0]
    return communicator


@pytest.mark.django_db(transaction=True)
def test_the_bistream_websocket_needs_clone(fake_voices):
    async def scenario(token):
        ws = await handshake("/inference_zero_shot_bistream", token)
        first = await ws.receive_output(timeout=10)
        if first["type"] == "websocket.close":
            return None, first["code"]
        return json.loads(first["text"]), (await ws.receive_output(timeout=10))["code"]

    error, code = asyncio.run(scenario(make_key(["speak"]).token))
    assert code == 4403 and error["error_code"] == "FORBIDDEN" and "'clone' scope" in error["detail"]

    async def allowed(token):
        ws = await handshake("/inference_zero_shot_bistream", token)
        await ws.send_to(text_data=json.dumps({"prompt_text": "hi", "tts_model_name": "default"}))
        await ws.send_to(bytes_data=tone_wav())
        await ws.send_to(text_data=json.dumps({"tts_text": "one two.", "finish": True}))
        pcm = b""
        while (message := await ws.receive_output(timeout=20))["type"] != "websocket.close":
            pcm += message.get("bytes") or b""
        return pcm, message["code"]

    pcm, code = asyncio.run(allowed(make_key(["clone"]).token))
    assert code == 1000 and pcm


@pytest.mark.django_db(transaction=True)
def test_the_binary_websocket_needs_speak(fake_voices):
    async def scenario(token, frame):
        ws = await handshake("/api/v1/tts/ws_binary", token)
        if frame:
            await ws.send_to(bytes_data=frame)
        replies = []
        while not replies or replies[-1][0] not in ("close", "error") and replies[-1][1] >= 0:
            message = await ws.receive_output(timeout=20)
            replies.append(("close", message["code"], b"") if message["type"] == "websocket.close"
                           else openspeech_client.parse_server_frame(message["bytes"]))
        if replies[-1][0] == "error":
            replies.append(("close", (await ws.receive_output(timeout=20))["code"], b""))
        return replies

    refused = asyncio.run(scenario(make_key(["clone", "voices", "tasks"]).token, None))
    assert refused[0][:2] == ("error", proto.UNAUTHORIZED) and b"'speak' scope" in refused[0][2]
    assert refused[-1][:2] == ("close", 4403)
    frame = openspeech_client.build_client_frame({"audio": {"voice_type": "fake_a", "encoding": "wav"},
                                                  "request": {"text": "hello", "operation": "query"}})
    replies = asyncio.run(scenario(make_key(["speak"]).token, frame))
    assert replies[-1][0] == "audio" and replies[-1][1] < 0 and replies[-1][2]
