"""People's API keys: stored hashed, accepted in every form the dialects send, revoked at once."""
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from synthesis import keys, usage
from synthesis.api.guard import refusal
from synthesis.models import ApiKey
from tests.factories import bearer, make_key, make_user

pytestmark = pytest.mark.django_db


def test_only_the_digest_of_a_token_is_stored(fake_voices):
    key = make_key()
    stored = ApiKey.objects.get(pk=key.pk)
    assert key.token.startswith("tts_") and len(key.token) > 40
    assert key.token not in (stored.digest, stored.prefix) and stored.digest == keys.digest(key.token)
    assert key.token.startswith(stored.prefix)


def test_a_key_is_let_through_and_a_wrong_one_is_not(client, fake_voices):
    key = make_key()
    assert client.get("/audio_roles", **bearer(key)).status_code == 200
    assert client.get("/audio_roles", **bearer(key.token + "x")).status_code == 401
    assert client.get("/audio_roles").status_code == 401


def test_once_a_key_exists_the_server_needs_one(client, fake_voices):
    assert client.get("/audio_roles").status_code == 200
    make_key()
    refused = client.get("/audio_roles")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Bearer"


def test_revoking_takes_effect_at_once_and_keeps_the_server_closed(client, fake_voices):
    key = make_key()
    assert client.get("/audio_roles", **bearer(key)).status_code == 200
    keys.revoke(ApiKey.objects.filter(pk=key.pk))
    assert client.get("/audio_roles", **bearer(key)).status_code == 401
    assert client.get("/audio_roles").status_code == 401  # the last key revoked does not open the server


def test_a_revocation_made_elsewhere_is_seen_by_the_next_request(client, fake_voices):
    key = make_key()
    assert client.get("/audio_roles", **bearer(key)).status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())  # another process, no cache to clear
    assert client.get("/audio_roles", **bearer(key)).status_code == 401


def test_an_expired_key_is_refused(client, fake_voices):
    key = make_key(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/audio_roles", **bearer(key)).status_code == 401


def test_the_server_key_keeps_full_access_beside_people_keys(client, fake_voices, settings):
    settings.TTS_API_KEY = "s3cret"
    make_key(scopes=["speak"])
    assert client.get("/metrics", **bearer("s3cret")).status_code == 200
    assert client.post("/delete_speaker", {"name": "ghost"}, **bearer("s3cret")).status_code == 404


def test_openspeech_sends_bearer_with_a_semicolon(client, fake_voices):
    key = make_key()
    response = client.post("/api/tts/interrupt", {"session_id": "none"}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer; {key.token}")
    assert response.status_code == 404  # past the key check: no such session


def test_errors_come_in_the_dialect_shape(client, fake_voices):
    make_key()
    assert client.get("/v1/models").json()["error"]["code"] == "invalid_api_key"
    assert client.get("/query_tts_model").json()["error_code"] == "INVALID_API_KEY"
    assert "API key" in client.get("/audio_roles").json()["detail"]


def test_bodies_of_callers_without_a_valid_key_are_refused_unread(fake_voices):
    key = make_key()
    assert refusal("/speak", "POST", f"Bearer {key.token}", 100) is None
    assert refusal("/speak", "POST", "Bearer tts_forged", 100)[0] == 401
    assert refusal("/speak", "POST", "", 100)[0] == 401
    keys.revoke(ApiKey.objects.filter(pk=key.pk))
    assert refusal("/speak", "POST", f"Bearer {key.token}", 100)[0] == 401


def test_the_page_asks_for_a_key_once_one_exists(client, fake_voices):
    assert b'data-key-required="false"' in client.get("/").content
    make_key()
    assert b'data-key-required="true"' in client.get("/").content


def test_last_use_is_recorded_in_the_batch(client, fake_voices):
    key = make_key()
    client.get("/audio_roles", **bearer(key))
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None  # not written per request
    usage.flush()
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None


def test_create_api_key_prints_a_working_token(client, fake_voices):
    make_user("team-a")
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "team-a-ci", "--owner", "team-a", "--scopes", "speak,tasks",
                 "--requests-per-minute", "30", "--characters-per-day", "5000", stdout=out, stderr=err)
    token = out.getvalue().strip()
    key = ApiKey.objects.get(name="team-a-ci")
    assert key.scopes == ["speak", "tasks"] and key.requests_per_minute == 30 and key.characters_per_day == 5000
    assert "shown only now" in err.getvalue()
    assert client.get("/audio_roles", **bearer(token)).status_code == 200


def test_create_api_key_refuses_unknown_scopes_and_owners():
    from django.core.management.base import CommandError

    make_user("team-b")
    with pytest.raises(CommandError, match="unknown scope"):
        call_command("create_api_key", "k", "--owner", "team-b", "--scopes", "speak,everything")
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_key", "k", "--owner", "nobody")


@pytest.mark.django_db(transaction=True)
def test_a_revocation_ends_open_websockets_at_their_next_message(fake_voices):
    """Both WebSockets read the key again before each message: a key revoked (or expired) after the
    handshake gets its next message refused, the reason, and close 4401."""
    import asyncio
    import json

    from channels.testing import WebsocketCommunicator

    from tests import openspeech_client
    from ttsproject.asgi import application

    query = openspeech_client.build_client_frame({"audio": {"voice_type": "fake_a", "encoding": "wav"},
                                                  "request": {"text": "hello", "operation": "query"}})

    async def binary(key):
        ws = WebsocketCommunicator(application, "/api/v1/tts/ws_binary",
                                   headers=[(b"authorization", f"Bearer; {key.token}".encode())])
        assert (await ws.connect())[0]
        await ws.send_to(bytes_data=query)
        frames = [openspeech_client.parse_server_frame((await ws.receive_output(timeout=20))["bytes"])]
        while frames[-1][0] == "audio" and frames[-1][1] >= 0:  # until the last (negative) sequence
            frames.append(openspeech_client.parse_server_frame((await ws.receive_output(timeout=20))["bytes"]))
        first = frames[0]
        await sync_to_async(keys.revoke)(ApiKey.objects.filter(pk=key.pk))
        await ws.send_to(bytes_data=query)
        refused = openspeech_client.parse_server_frame((await ws.receive_output(timeout=20))["bytes"])
        return first, refused, (await ws.receive_output(timeout=20))

    async def bistream(key):
        ws = WebsocketCommunicator(application, "/inference_zero_shot_bistream",
                                   headers=[(b"authorization", f"Bearer {key.token}".encode())])
        assert (await ws.connect())[0]
        await sync_to_async(ApiKey.objects.filter(pk=key.pk).update)(expires_at=timezone.now())
        await ws.send_to(text_data=json.dumps({"text": "hello"}))
        return json.loads((await ws.receive_output(timeout=20))["text"]), (await ws.receive_output(timeout=20))

    from asgiref.sync import sync_to_async

    first, refused, closed = asyncio.run(binary(make_key()))
    assert first[0] == "audio" and first[2]
    assert refused[0] == "error" and closed == {"type": "websocket.close", "code": 4401}
    error, closed = asyncio.run(bistream(make_key()))
    assert error["error_code"] == "UNAUTHORIZED" and closed["code"] == 4401


@pytest.mark.django_db(transaction=True)
def test_a_refused_websocket_is_told_why_and_nothing_it_sends_is_handled(fake_voices):
    """A connection refused at the handshake (no key; a page of another site on a server without
    keys) gets its dialect's error and the close code, and what the client sent before the close
    reached it is never handled: it did reach the handlers, which answered it on the binary socket
    and crashed on LightTTS's (no state before its set-up)."""
    import asyncio
    import json

    from channels.testing import WebsocketCommunicator

    from tests import openspeech_client
    from ttsproject.asgi import application

    async def refused(path, headers, message):
        ws = WebsocketCommunicator(application, path, headers=headers)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=message)
        await ws.disconnect(timeout=20)  # the application ends after handling what came before
        out = []
        while not ws.output_queue.empty():
            out.append(ws.output_queue.get_nowait())
        return out

    def check(out, code, status):
        *said, closed = out
        assert closed == {"type": "websocket.close", "code": code} and len(said) == 1, out
        if "bytes" in said[0]:
            kind, error_code, message = openspeech_client.parse_server_frame(said[0]["bytes"])[:3]
            assert kind == "error" and message, said
        else:
            assert json.loads(said[0]["text"])["error_code"] == {401: "UNAUTHORIZED", 403: "FORBIDDEN"}[status]

    page = [(b"origin", b"https://elsewhere.example"), (b"host", b"testserver")]
    check(asyncio.run(refused("/inference_zero_shot_bistream", page, '{"prompt_text": "x"}')), 4403, 403)
    check(asyncio.run(refused("/api/v1/tts/ws_binary", page, "not a frame")), 4403, 403)
    make_key()  # keys are required from now on; these handshakes carry none
    check(asyncio.run(refused("/inference_zero_shot_bistream", [], '{"prompt_text": "x"}')), 4401, 401)
    check(asyncio.run(refused("/api/v1/tts/ws_binary", [], "not a frame")), 4401, 401)


@pytest.mark.django_db
def test_paths_with_no_endpoint_answer_404_in_json_and_websockets_close_4404(client):
    import asyncio

    from channels.testing import WebsocketCommunicator

    from ttsproject.asgi import application

    for method, path in (("get", "/v1/unknown"), ("get", "/speak/"), ("post", "/v1/audio/speech/")):
        response = getattr(client, method)(path)
        assert response.status_code == 404 and path in response.json()["detail"]
    assert "text/html" in client.get("/admin/nothing-here/").headers["Content-Type"]  # the admin keeps its page

    async def open_socket(path):
        ws = WebsocketCommunicator(application, path)
        accepted = (await ws.connect())[0]
        return accepted, await ws.receive_output(timeout=20)

    assert asyncio.run(open_socket("/inference_zero_shot_bistream/")) == (True, {"type": "websocket.close",
                                                                                "code": 4404})
