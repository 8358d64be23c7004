import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tasks.models import TaskRecord
from tests.audio import tone_wav
from tests.fakes import FakeEngine
from voices.models import Voice

pytestmark = pytest.mark.django_db




def add_voice_form(name="narrator", **fields):
    return {"name": name, "recording": SimpleUploadedFile("narrator.wav", tone_wav(freq=330.0)),
            "reference_text": "", "gender": "female", "description": "", "consent_statement": "", **fields}


def test_the_voice_admin_lists_and_filters(admin_client, fake_voices):
    page = admin_client.get("/admin/voices/voice/?engine=fake")
    assert page.status_code == 200 and b"fake_a" in page.content


def test_the_add_voice_form_asks_for_a_recording_not_engine_internals(admin_client, fake_voices):
    page = admin_client.get("/admin/voices/voice/add/").content.decode()
    assert 'name="recording"' in page and 'name="consent_statement"' in page
    assert 'name="engine"' not in page and 'name="engine_voice"' not in page


def test_a_curator_adds_a_voice_through_the_cloning_path(admin_client, fake_voices):
    response = admin_client.post("/admin/voices/voice/add/", add_voice_form(
        consent_statement="I, Ann, agree that this server may speak with my voice."))
    assert response.status_code == 302, response.content.decode()[-2000:]
    voice = Voice.objects.get(name="narrator")
    assert voice.engine == "fake" and voice.latent and voice.sample_audio and voice.kind == "cloned"
    assert voice.created_by == "curator" and voice.gender == "female"
    assert voice.consent_statement.startswith("I, Ann") and voice.consent_by == "curator" and voice.consent_at
    assert FakeEngine.prepared >= 1  # the recording was analysed into a latent
    change = admin_client.get(f"/admin/voices/voice/{voice.pk}/change/").content.decode()
    assert "stored (" in change and '<div class="readonly">built-in voice</div>' not in change
    # the voice speaks through the API, as any cloned voice does
    spoken = admin_client.post("/speak", {"name": "narrator", "text": "hello there", "response_format": "wav"},
                               content_type="application/json")
    assert spoken.status_code == 200


def test_a_voice_that_cannot_speak_is_refused_with_a_form_error(admin_client, fake_voices):
    FakeEngine.fail_on = "sample of my voice"
    response = admin_client.post("/admin/voices/voice/add/", add_voice_form("mute"))
    assert response.status_code == 200
    assert "cannot speak" in response.content.decode()
    assert not Voice.objects.filter(name="mute").exists()


def test_undecodable_audio_is_a_form_error_in_plain_words(admin_client, fake_voices):
    response = admin_client.post("/admin/voices/voice/add/", add_voice_form(
        "noise", recording=SimpleUploadedFile("x.wav", b"not audio at all" * 100)))
    page = response.content.decode()
    assert response.status_code == 200 and "Recording" in page and "reference_audio" not in page
    assert not Voice.objects.filter(name="noise").exists()


def test_a_voice_cloned_through_the_api_can_be_edited(admin_client, fake_voices):
    admin_client.post("/add_speaker", {"name": "api_voice", "audio_file": SimpleUploadedFile("r.wav", tone_wav())})
    voice = Voice.objects.get(name="api_voice")
    assert voice.engine_voice == "" and voice.created_by.startswith("API")
    response = admin_client.post(f"/admin/voices/voice/{voice.pk}/change/", {
        "name": "api_voice", "language": "en-us", "gender": "male", "description": "edited", "enabled": "on",
        "reference_text": ""})
    assert response.status_code == 302, response.content.decode()[-2000:]
    voice.refresh_from_db()
    assert voice.description == "edited" and voice.gender == "male" and voice.latent


def test_the_sample_action_says_so_when_every_voice_failed(admin_client, fake_voices):
    FakeEngine.fail_on = "sample of my voice"
    ids = list(Voice.objects.values_list("pk", flat=True))
    response = admin_client.post("/admin/voices/voice/", {"action": "synthesize_sample", "_selected_action": ids},
                                 follow=True)
    text = response.content.decode()
    assert "Synthesized 0" not in text and "No sample was made" in text
    assert 'class="error"' in text


def test_the_task_admin_cancels_selected_tasks(admin_client):
    TaskRecord.objects.create(step_id="t1", status="processing")
    TaskRecord.objects.create(step_id="t2", status="completed")
    assert admin_client.get("/admin/tasks/taskrecord/?status=processing").status_code == 200
    ids = list(TaskRecord.objects.values_list("pk", flat=True))
    response = admin_client.post("/admin/tasks/taskrecord/", {"action": "cancel_tasks", "_selected_action": ids})
    assert response.status_code == 302
    assert TaskRecord.objects.get(step_id="t1").status == "cancelled"
    assert TaskRecord.objects.get(step_id="t2").status == "completed"


def test_the_task_list_shows_voice_text_error_and_a_human_duration(admin_client):
    started = timezone.now() - datetime.timedelta(seconds=200)
    TaskRecord.objects.create(step_id="chapter", status="failed", params={"fields": {"text": "Call me Ishmael. " * 10,
                                                                                     "reference_id": "joe"}},
                              started_at=started, completed_at=started + datetime.timedelta(seconds=185),
                              error="synthesis failed: the engine stopped")
    page = admin_client.get("/admin/tasks/taskrecord/").content.decode()
    assert "joe" in page and "Call me Ishmael." in page and "the engine stopped" in page
    assert "3 min 5 s" in page


def test_a_taken_name_is_refused_before_the_recording_is_analysed(admin_client, fake_voices):
    prepared = FakeEngine.prepared
    response = admin_client.post("/admin/voices/voice/add/", add_voice_form("fake_a"))
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert FakeEngine.prepared == prepared
