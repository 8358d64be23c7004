import base64
import os

import pytest

from tests.audio import tone_wav
from voices.models import Voice

pytestmark = pytest.mark.django_db


def media_files(settings):
    root = settings.MEDIA_ROOT
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files] if os.path.isdir(root) else []


def test_audio_roles_lists_the_catalog(client, fake_voices):
    for path in ("/audio_roles", "/v1/audio_roles"):
        body = client.get(path).json()
        assert body["success"] is True and body["roles"] == ["fake_a", "fake_b"]
        assert body["voices"][1] == {"name": "fake_b", "language": "en", "gender": "male", "engine": "fake"}


def test_add_speaker_from_an_upload(client, fake_voices, settings):
    response = client.post("/add_speaker", {"name": "new_speaker", "reference_text": "示例",
                                            "audio_file": upload(tone_wav())})
    assert response.status_code == 200
    assert response.json() == {"success": True, "role": "new_speaker"}
    voice = Voice.objects.get(name="new_speaker")
    assert voice.reference_text == "示例" and voice.reference_audio
    assert "new_speaker" in client.get("/audio_roles").json()["roles"]
    speak = client.post("/speak", {"name": "new_speaker", "text": "hello", "response_format": "wav"},
                        content_type="application/json")
    assert speak.status_code == 200


def test_add_speaker_from_base64(client, fake_voices):
    b64 = base64.b64encode(tone_wav()).decode()
    assert client.post("/add_speaker", {"name": "b64", "audio": b64}).status_code == 200


def test_add_speaker_refuses_a_duplicate_name(client, fake_voices):
    response = client.post("/add_speaker", {"name": "fake_a", "audio_file": upload(tone_wav())})
    assert response.status_code == 409


def test_add_speaker_refuses_invalid_base64_and_writes_nothing(client, fake_voices, settings):
    response = client.post("/add_speaker", {"name": "bad", "audio": "@@not base64@@"})
    assert response.status_code == 400
    assert "base64" in response.json()["detail"]
    assert not Voice.objects.filter(name="bad").exists()
    assert media_files(settings) == []


def test_add_speaker_refuses_undecodable_audio(client, fake_voices, settings):
    response = client.post("/add_speaker", {"name": "junk", "audio_file": upload(b"this is not audio" * 100)})
    assert response.status_code == 400
    assert not Voice.objects.filter(name="junk").exists()
    assert media_files(settings) == []


def test_add_speaker_refuses_silence(client, fake_voices):
    response = client.post("/add_speaker", {"name": "quiet", "audio_file": upload(tone_wav(amplitude=0.0))})
    assert response.status_code == 400
    assert "silent" in response.json()["detail"]


def test_add_speaker_refuses_a_url_to_a_loopback_address(client, fake_voices):
    response = client.post("/add_speaker", {"name": "ssrf", "audio": "http://127.0.0.1:9/ref.wav"})
    assert response.status_code == 400
    assert "loopback" in response.json()["detail"]


def test_add_speaker_needs_audio(client, fake_voices):
    assert client.post("/add_speaker", {"name": "none"}).status_code == 400


def test_delete_speaker_removes_the_voice_and_its_files(client, fake_voices, settings):
    client.post("/add_speaker", {"name": "temp", "audio_file": upload(tone_wav())})
    assert media_files(settings)
    response = client.post("/delete_speaker", {"name": "temp"})
    assert response.json() == {"success": True, "role": "temp"}
    assert not Voice.objects.filter(name="temp").exists()
    assert media_files(settings) == []


def test_delete_speaker_of_an_unknown_name_is_404(client, fake_voices):
    assert client.post("/delete_speaker", {"name": "ghost"}).status_code == 404


def upload(data: bytes, name="ref.wav"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="audio/wav")


@pytest.mark.parametrize("name", ["a/b", "..", ".", "x%00y", "<img src=x onerror=alert(1)>", "fake_a(2)+fake_b(1)"])
def test_add_speaker_refuses_a_name_that_is_no_path_segment_or_is_a_blend(client, fake_voices, name):
    """It would be listed with a preview link that leads nowhere, or shadow a blend of that name."""
    audio = base64.b64encode(tone_wav()).decode()
    response = client.post("/add_speaker", {"name": name, "audio": audio}, content_type="application/json")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "name"]
    assert not Voice.objects.filter(name=name).exists()


def test_add_speaker_takes_a_name_in_any_script(client, fake_voices):
    audio = base64.b64encode(tone_wav()).decode()
    for name in ("赞助商", "Dr. Smith", "voice-2_b"):
        response = client.post("/add_speaker", {"name": name, "audio": audio}, content_type="application/json")
        assert response.status_code == 200, response.content
