"""Async generation tasks in the default mode (in-process runners, same services as Celery)."""
import os
import threading
import time

import ormsgpack
import pytest

from tasks import services
from tasks.models import TaskRecord
from tests.audio import body_of, decode
from tests.fakes import FakeEngine

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def finish_task_threads():
    """Let this test's task runners end before the database is flushed."""
    yield
    if FakeEngine.gate is not None:
        FakeEngine.gate.set()
    if services._executor is not None:
        services._executor.shutdown(wait=True)
        services._executor = None


def create(client, step_id="task_001", text="one two three four", packer="msgpack", **extra):
    body = {"step_id": step_id, "text": text, "reference_id": "fake_a", **extra}
    if packer == "msgpack":
        return client.post("/generate_audio_enhanced_async?format=msgpack", ormsgpack.packb(body),
                           content_type="application/msgpack")
    return client.post("/generate_audio_enhanced_async", body, content_type="application/json")


def wait_status(client, step_id, wanted, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(f"/get_task_status/{step_id}").json()
        if body["status"] in wanted:
            return body
        time.sleep(0.05)
    raise AssertionError(f"task {step_id} never reached {wanted}: {body}")


def test_a_task_runs_to_completion_and_its_result_downloads(client, fake_voices):
    response = create(client)
    assert response.status_code == 200
    assert ormsgpack.unpackb(response.content) == {"success": True, "message": "Task created and started",
                                                  "step_id": "task_001", "status": "pending"}
    body = wait_status(client, "task_001", {"completed"})
    assert body["download_url"] == "/download_result/task_001" and body["error"] is None
    assert body["created_at"] <= body["started_at"] <= body["completed_at"]
    download = client.get("/download_result/task_001")
    assert download.status_code == 200 and download["Content-Type"] == "audio/mpeg"
    samples, rate = decode(body_of(download), "mp3")
    assert len(samples) / rate == pytest.approx(4 * 0.12 + 0.18, abs=0.15) and int(download["X-Sample-Rate"]) == rate
    record = TaskRecord.objects.get(step_id="task_001")
    assert record.engine == "fake" and record.audio_duration == pytest.approx(0.66, abs=0.05)


def test_a_duplicate_step_id_is_409(client, fake_voices):
    create(client, "dup", packer="json")
    assert create(client, "dup", packer="json").status_code == 409


def test_unknown_tasks_are_404_with_not_found(client):
    body = client.get("/get_task_status/ghost")
    assert body.status_code == 404 and body.json()["status"] == "not_found"
    assert client.get("/download_result/ghost").status_code == 404
    assert client.post("/stop_async_task/ghost").status_code == 404


def test_download_before_completion_is_400(client, fake_voices):
    FakeEngine.gate = threading.Event()
    create(client, "slow", text="First part. Then a second sentence that waits. And a third.", chunk_length=100)
    wait_status(client, "slow", {"processing"})
    assert client.get("/download_result/slow").status_code == 400
    FakeEngine.gate.set()
    wait_status(client, "slow", {"completed"})


def test_stopping_a_task_cancels_it_within_one_segment(client, fake_voices):
    FakeEngine.gate = threading.Event()
    text = "First part. " + "Then another sentence follows here. " * 20
    create(client, "stopme", text=text, chunk_length=100)
    wait_status(client, "stopme", {"processing"})
    response = client.post("/stop_async_task/stopme")
    assert response.json() == {"success": True, "message": "Task stopme stopped", "step_id": "stopme",
                               "status": "cancelled"}
    FakeEngine.gate.set()
    body = wait_status(client, "stopme", {"cancelled"})
    assert body["download_url"] is None
    # wait until the dispatcher has let go of the job (cancelled, or, were it never cancelled,
    # run to its end): only then is the count of segments final
    from synthesis import services as synthesis_services

    dispatcher = synthesis_services.get_dispatcher()
    deadline = time.monotonic() + 10
    while dispatcher.stats()["active_jobs"] and time.monotonic() < deadline:
        threading.Event().wait(0.01)
    assert dispatcher.stats()["active_jobs"] == 0, "the job never ended"
    assert len(FakeEngine.calls) <= 3
    assert not TaskRecord.objects.get(step_id="stopme").result
    again = client.post("/stop_async_task/stopme").json()  # it ended: nothing is claimed stopped
    assert again["message"] == "Task stopme had already ended (cancelled)" and again["status"] == "cancelled"


def test_stopping_a_finished_task_says_it_had_ended_and_leaves_its_result(client, fake_voices):
    create(client, "done")
    wait_status(client, "done", {"completed"})
    response = client.post("/stop_async_task/done").json()
    assert response["message"] == "Task done had already ended (completed)" and response["status"] == "completed"
    assert client.get("/download_result/done").status_code == 200


def test_stop_generation_stops_every_running_task(client, fake_voices):
    FakeEngine.gate = threading.Event()
    text = "First part. " + "Then another sentence follows here. " * 20
    for step_id in ("a", "b"):
        create(client, step_id, text=text, chunk_length=100)
    wait_status(client, "a", {"processing"})
    response = client.post("/stop_generation")
    assert response.json() == {"success": True, "message": "Stopped 2 task(s)"}
    FakeEngine.gate.set()
    for step_id in ("a", "b"):
        wait_status(client, step_id, {"cancelled"})


def test_a_failing_engine_marks_the_task_failed(client, fake_voices):
    FakeEngine.fail_on = "boom"
    create(client, "bad", text="boom goes the engine")
    body = wait_status(client, "bad", {"failed"})
    assert "fake engine failure" in body["error"]


def test_the_sweep_fails_a_task_whose_runs_died_too_often_and_expires_old_results(fake_voices, settings):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    old = timezone.now() - timedelta(hours=settings.TTS_TASK_RETENTION_HOURS + 1)
    TaskRecord.objects.create(step_id="zombie", status="processing", started_at=old, heartbeat_at=old,
                              attempts=settings.TTS_TASK_MAX_ATTEMPTS, worker="gone:1:x")
    done = TaskRecord.objects.create(step_id="old", status="completed", completed_at=old)
    done.result.save("old.mp3", ContentFile(b"data"))
    path = done.result.path
    assert services.sweep() == {"resumed": 0, "failed": 1, "expired": 1}
    zombie = TaskRecord.objects.get(step_id="zombie")
    assert zombie.status == "failed" and "stopped 3 times" in zombie.error
    assert not TaskRecord.objects.filter(step_id="old").exists()
    assert not os.path.exists(path)


def test_a_task_whose_runner_died_resumes_after_its_last_stored_segment(client, fake_voices):
    """Segments 1-2 were stored by a run that then died; the sweep resumes at segment 3, nothing lost."""
    import numpy as np
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from synthesis.audio.encoders import to_pcm16

    texts = [f"Segment number {word} has these words. " * 8 for word in ("one", "two", "three", "four")]
    assert create(client, "resume-me", text="".join(texts), packer="json").status_code == 200
    wait_status(client, "resume-me", {"completed"})
    record = TaskRecord.objects.get(step_id="resume-me")
    assert record.segments_total == 4
    whole = record.audio_duration
    # what a run that died after two segments leaves behind
    stale = timezone.now() - timedelta(hours=1)
    tone = to_pcm16(np.full(16000, 0.1, dtype=np.float32))
    for index in (0, 1):
        default_storage.save(services._segment_name(record, index), ContentFile(tone))
    TaskRecord.objects.filter(pk=record.pk).update(status="processing", segments_done=2, audio_duration=2.0,
                                                   heartbeat_at=stale, worker="dead:1:x", attempts=1, result="")
    FakeEngine.calls = []
    assert services.sweep()["resumed"] == 1
    body = wait_status(client, "resume-me", {"completed"})
    assert body["progress"]["segments_done"] == 4
    record.refresh_from_db()
    spoken_again = " ".join(FakeEngine.calls).split()
    assert spoken_again == " ".join(record.params["segments"][2:]).split()  # only what was not stored
    assert record.attempts == 2 and 2.0 < record.audio_duration < whole
    samples, rate = decode(body_of(client.get("/download_result/resume-me")), "mp3")
    assert len(samples) / rate == pytest.approx(record.audio_duration, abs=0.2)


def test_a_long_chapter_is_accepted_and_reports_progress(client, fake_voices, settings):
    text = "This sentence is part of a long chapter. " * 60  # 2,460 characters, over the request limit
    assert len(text) > settings.TTS_MAX_TEXT_LENGTH
    assert create(client, "chapter", text=text, packer="json").status_code == 200
    body = wait_status(client, "chapter", {"completed"})
    progress = body["progress"]
    assert progress["segments_total"] >= 6 and progress["segments_done"] == progress["segments_total"]
    assert progress["audio_seconds"] > 30


def test_over_the_task_text_limit_or_a_step_id_that_is_not_a_path_segment_is_400(client, fake_voices, settings):
    settings.TTS_MAX_TASK_TEXT_LENGTH = 100
    assert create(client, "long", text="x " * 60, packer="json").status_code == 400
    response = create(client, "a/b", packer="json")
    assert response.status_code == 400 and "step_id" in response.json()["detail"]


def test_past_the_active_task_limit_new_tasks_get_503(client, fake_voices, settings):
    settings.TTS_MAX_ACTIVE_TASKS = 1
    FakeEngine.gate = threading.Event()
    create(client, "first", text="First part. Then a second sentence that waits.", packer="json")
    response = create(client, "second", packer="json")
    assert response.status_code == 503 and response["Retry-After"]
    FakeEngine.gate.set()
    wait_status(client, "first", {"completed"})


def test_bad_fields_are_400(client, fake_voices):
    response = create(client, "x", packer="json", top_p=3)
    assert response.status_code == 400 and "top_p" in response.json()["detail"]


def test_a_keys_tasks_are_its_owners_alone(client, fake_voices):
    """Status, download and stopping answer only the owner's keys (404 to others, as for a task
    that does not exist); stop_generation stops only the caller's; the task's audio is its key's usage."""
    from synthesis import usage
    from synthesis.models import UsageDay
    from tests.factories import bearer, make_key, make_user

    alice = make_user("alice")
    made_with, alices_other, bobs = make_key(owner=alice), make_key(owner=alice), make_key(owner=make_user("bob"))
    FakeEngine.gate = threading.Event()
    text = "First part. " + "Then another sentence follows here. " * 20
    for step_id, key in (("alices", made_with), ("bobs", bobs)):
        body = {"step_id": step_id, "text": text, "reference_id": "fake_a", "format": "wav", "chunk_length": 100}
        assert client.post("/generate_audio_enhanced_async", body, content_type="application/json",
                           **bearer(key)).status_code == 200
    assert TaskRecord.objects.get(step_id="alices").owner == alice
    assert client.get("/get_task_status/alices", **bearer(bobs)).status_code == 404
    assert client.post("/stop_async_task/alices", **bearer(bobs)).status_code == 404
    assert client.post("/stop_generation", **bearer(bobs)).json()["message"] == "Stopped 1 task(s)"  # Bob's own
    assert TaskRecord.objects.get(step_id="bobs").status == TaskRecord.Status.CANCELLED
    assert TaskRecord.objects.get(step_id="alices").is_active
    FakeEngine.gate.set()
    deadline = time.monotonic() + 20
    while client.get("/get_task_status/alices", **bearer(alices_other)).json()["status"] != "completed":
        assert time.monotonic() < deadline, "Alice's task never completed"
        threading.Event().wait(0.05)
    assert client.get("/download_result/alices", **bearer(bobs)).status_code == 404
    download = client.get("/download_result/alices", **bearer(alices_other))
    assert download.status_code == 200
    samples, rate = decode(body_of(download), "wav")
    usage.flush()
    row = UsageDay.objects.get(key=made_with)
    assert row.characters == len(text) and row.requests == 1
    assert row.audio_seconds == pytest.approx(len(samples) / rate, abs=0.05)


@pytest.mark.parametrize("step_id", [".", ".."])
def test_a_step_id_that_is_a_dot_path_is_refused(client, fake_voices, step_id):
    response = create(client, step_id=step_id, packer="json")
    assert response.status_code == 400 and not TaskRecord.objects.filter(step_id=step_id).exists()
