"""What the web page relies on: consent and provenance of saved voices, stored previews, the default voice."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.audio import decode, tone_wav
from tests.fakes import FakeEngine
from voices.models import Voice

pytestmark = pytest.mark.django_db


def read(response) -> bytes:
    """The body of a file response (the test client may hand it over as an async iterator)."""
    from asgiref.sync import async_to_sync

    content = response.streaming_content
    if hasattr(content, "__aiter__"):
        async def collect():
            return b"".join([part async for part in content])
        return async_to_sync(collect)()
    return b"".join(content)


STATEMENT = "I, Ann, agree that this server may speak with my voice."


def test_add_speaker_stores_the_consent_statement_with_who_and_when(client, fake_voices):
    response = client.post("/add_speaker", {"name": "ann", "consent": STATEMENT,
                                            "audio_file": SimpleUploadedFile("r.wav", tone_wav())})
    assert response.status_code == 200
    voice = Voice.objects.get(name="ann")
    assert voice.consent_statement == STATEMENT and voice.consent_at is not None
    assert voice.created_by == voice.consent_by == "API without key (127.0.0.1)"


def test_fish_references_take_the_same_consent_field(client, fake_voices):
    response = client.post("/v1/references/add", {"id": "bo", "text": "hello", "consent": STATEMENT,
                                                  "audio": SimpleUploadedFile("r.wav", tone_wav())})
    assert response.status_code == 200
    assert Voice.objects.get(name="bo").consent_statement == STATEMENT


def test_a_voice_saved_without_consent_records_none(client, fake_voices):
    client.post("/add_speaker", {"name": "cy", "audio_file": SimpleUploadedFile("r.wav", tone_wav())})
    voice = Voice.objects.get(name="cy")
    assert voice.consent_statement == "" and voice.consent_by == "" and voice.consent_at is None


def test_a_voice_saved_with_the_key_names_the_key_not_api(client, fake_voices, settings):
    settings.TTS_API_KEY = "secret-key-7f3a"
    response = client.post("/add_speaker", {"name": "dee", "audio_file": SimpleUploadedFile("r.wav", tone_wav())},
                           HTTP_AUTHORIZATION="Bearer secret-key-7f3a")
    assert response.status_code == 200
    assert Voice.objects.get(name="dee").created_by == "API key …7f3a"


def test_a_preview_is_made_once_and_then_served_from_storage(client, fake_voices):
    first = client.get("/voices/fake_a/preview")
    assert first.status_code == 200 and first["Content-Type"] == "audio/mpeg"
    body = read(first)
    samples, rate = decode(body, "mp3")
    assert len(samples) / rate > 0.3 and int(first["X-Sample-Rate"]) == rate
    calls = len(FakeEngine.calls)
    again = client.get("/voices/fake_a/preview")
    assert read(again) == body
    assert len(FakeEngine.calls) == calls  # nothing synthesized the second time
    assert Voice.objects.get(name="fake_a").sample_audio


def test_a_preview_of_an_unknown_voice_is_404(client, fake_voices):
    response = client.get("/voices/nobody/preview")
    assert response.status_code == 404 and "not found" in response.json()["detail"]


def test_a_voice_that_never_proved_it_speaks_is_never_the_default(client, fake_voices):
    Voice.objects.create(name="aaa_mute", engine="fake", engine_voice="no_such_voice", language="en-us")
    body = client.get("/v1/audio/voices").json()
    assert body["server_default_voice"] == "fake_a"
    assert client.get("/v1/audio/voices", {"text": "Hello there."}).json()["default_voice"] != "aaa_mute"
