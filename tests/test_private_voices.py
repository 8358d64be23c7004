"""A voice added with a key belongs to its owner: invisible and unusable to other people's keys in
every dialect's catalog and synthesis, until a curator publishes it."""
import asyncio
import base64

import pytest

from tests.audio import tone_wav
from tests.factories import bearer, make_key, make_user
from tests.fakes import FakeEngine
from voices.models import Voice

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(client, fake_voices):
    """Alice's voice `alice_voice` (made with one of her keys); a second key of hers; Bob's key."""
    alice = make_user("alice")
    made_with = make_key(owner=alice, name="alice-laptop")
    response = client.post("/add_speaker", {"name": "alice_voice", "audio": base64.b64encode(tone_wav()).decode()},
                           **bearer(made_with))
    assert response.status_code == 200
    return {"made_with": made_with, "alice": make_key(owner=alice), "bob": make_key(owner=make_user("bob"))}


def catalogs(client, key) -> dict[str, list[str]]:
    """The voice names every dialect's catalog listing shows this key."""
    auth = bearer(key)
    return {"flashtts": client.get("/audio_roles", **auth).json()["roles"],
            "flashtts_v1": [v["name"] for v in client.get("/v1/audio_roles", **auth).json()["voices"]],
            "openai": [v["name"] for v in client.get("/v1/audio/voices", **auth).json()["data"]],
            "fish": client.get("/v1/references/list", **auth).json()["reference_ids"]}


def speaks(client, key, voice) -> list[int]:
    """Status of synthesis with `voice` through each dialect that names a catalog voice."""
    auth = bearer(key)
    return [client.post("/speak", {"name": voice, "text": "hello", "response_format": "wav"},
                        content_type="application/json", **auth).status_code,
            client.post("/multi_speak", {"text": f"<role:{voice}> hello", "response_format": "wav"},
                        content_type="application/json", **auth).status_code,
            client.post("/v1/audio/speech", {"model": "tts-1", "voice": voice, "input": "hello",
                                             "response_format": "wav"}, content_type="application/json",
                        **auth).status_code,
            client.post("/v1/tts", {"text": "hello", "reference_id": voice, "format": "wav"},
                        content_type="application/json", **auth).status_code,
            client.post("/api/tts/stream", {"text": "hello", "voice_type": voice}, content_type="application/json",
                        **auth).status_code,
            client.post("/generate_audio_enhanced_async", {"step_id": f"t-{key.name}", "text": "hello",
                                                           "reference_id": voice, "format": "wav"},
                        content_type="application/json", **auth).status_code]


def test_the_voice_belongs_to_the_owner_of_the_key_that_made_it(people):
    voice = Voice.objects.get(name="alice_voice")
    assert voice.owner.username == "alice" and voice.api_key == people["made_with"]
    assert not voice.is_public and voice.created_by == "alice-laptop"


def test_other_peoples_keys_do_not_see_it_in_any_catalog(client, people):
    for dialect, names in catalogs(client, people["bob"]).items():
        assert "alice_voice" not in names and "fake_a" in names, dialect
    for dialect, names in catalogs(client, people["alice"]).items():
        assert "alice_voice" in names, dialect


def test_other_peoples_keys_cannot_speak_with_it(client, people):
    # OpenSpeech speaks an unknown voice_type in the default voice (as for the hosted service's ids)
    FakeEngine.spoken = []
    assert speaks(client, people["bob"], "alice_voice") == [404, 404, 404, 404, 200, 404]
    assert {voice for voice, _ in FakeEngine.spoken} <= {"fake_a", "fake_b"}
    assert speaks(client, people["alice"], "alice_voice") == [200] * 6


def test_other_peoples_keys_cannot_hear_its_preview(client, people):
    preview = "/voices/alice_voice/preview"
    assert client.get(preview, **bearer(people["bob"])).status_code == 404
    response = client.get(preview, **bearer(people["alice"]))
    assert response.status_code == 200 and response["Content-Type"] == "audio/mpeg"
    assert client.get(preview, **bearer(people["bob"])).status_code == 404  # stored now: still not Bob's


@pytest.mark.django_db(transaction=True)
def test_the_binary_websocket_cannot_use_it_either(people):
    from channels.testing import WebsocketCommunicator

    from tests import openspeech_client
    from ttsproject.asgi import application

    async def query(key):
        ws = WebsocketCommunicator(application, "/api/v1/tts/ws_binary",
                                   headers=[(b"authorization", f"Bearer; {key.token}".encode())])
        await ws.connect()
        await ws.send_to(bytes_data=openspeech_client.build_client_frame(
            {"audio": {"voice_type": "alice_voice", "encoding": "wav"},
             "request": {"text": "hello", "operation": "query"}}))
        reply = openspeech_client.parse_server_frame((await ws.receive_output(timeout=20))["bytes"])
        await ws.disconnect()
        return reply

    FakeEngine.spoken = []
    kind, _, audio = asyncio.run(query(people["bob"]))  # the default voice, as for any unknown voice_type
    assert kind == "audio" and audio and {voice for voice, _ in FakeEngine.spoken} <= {"fake_a", "fake_b"}
    kind, number, audio = asyncio.run(query(people["alice"]))
    assert kind == "audio" and number < 0 and audio


def test_other_peoples_keys_cannot_delete_or_rename_it(client, people):
    bob = bearer(people["bob"])
    assert client.post("/delete_speaker", {"name": "alice_voice"}, **bob).status_code == 404
    assert client.delete("/v1/references/delete", {"reference_id": "alice_voice"}, content_type="application/json",
                         **bob).status_code == 404
    assert client.post("/v1/references/update", {"old_reference_id": "alice_voice", "new_reference_id": "mine"},
                       content_type="application/json", **bob).status_code == 404
    assert client.post("/delete_speaker", {"name": "alice_voice"}, **bearer(people["alice"])).status_code == 200


def test_a_published_voice_is_usable_by_everyone_but_changed_only_by_its_owner(client, people):
    Voice.objects.filter(name="alice_voice").update(is_public=True)  # what the admin's publish action does
    assert "alice_voice" in catalogs(client, people["bob"])["fish"]
    assert speaks(client, people["bob"], "alice_voice")[:5] == [200] * 5
    refused = client.post("/delete_speaker", {"name": "alice_voice"}, **bearer(people["bob"]))
    assert refused.status_code == 403 and "belongs to someone else" in refused.json()["detail"]


def test_the_server_key_and_admin_keys_see_every_voice(client, people, settings):
    settings.TTS_API_KEY = "s3cret"
    assert "alice_voice" in catalogs(client, "s3cret")["openai"]
    assert "alice_voice" in catalogs(client, make_key(["admin"]))["flashtts"]
    assert client.post("/delete_speaker", {"name": "alice_voice"}, **bearer(make_key(["admin"]))).status_code == 200


def test_built_in_voices_cannot_be_deleted_through_the_api(client, fake_voices, settings):
    settings.TTS_API_KEY = "s3cret"
    for key in ("s3cret", make_key(["admin"])):
        refused = client.post("/delete_speaker", {"name": "fake_a"}, **bearer(key))
        assert refused.status_code == 403 and "built in" in refused.json()["detail"]
    assert Voice.objects.filter(name="fake_a").exists()


def test_without_keys_voices_are_public_as_before(client, fake_voices):
    assert client.post("/add_speaker", {"name": "open_voice", "audio": base64.b64encode(tone_wav()).decode()}
                       ).status_code == 200
    voice = Voice.objects.get(name="open_voice")
    assert voice.is_public and voice.owner is None and voice.api_key is None


def test_the_admin_publishes_and_shows_who_made_a_voice(client, people):
    from django.contrib.auth.models import User

    User.objects.create_superuser("curator", "c@example.com", "pw")
    client.login(username="curator", password="pw")
    page = client.get("/admin/voices/voice/?is_public__exact=0")
    assert b"alice_voice" in page.content and b"alice-laptop" in page.content
    voice = Voice.objects.get(name="alice_voice")
    client.post("/admin/voices/voice/", {"action": "publish", "_selected_action": [voice.pk]})
    assert Voice.objects.get(pk=voice.pk).is_public
