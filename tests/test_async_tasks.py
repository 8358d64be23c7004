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
    assert len(samples) / rate == pytest.approx(4 * 0.12 + 0.18, abs=0.15)
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
    assert response.json() == {"success": True, "message": "Task stopme stopped", "step_id": "stopme"}
    FakeEngine.gate.set()
    body = wait_status(client, "stopme", {"cancelled"})
    assert body["download_url"] is None
    time.sleep(0.3)
    assert len(FakeEngine.calls) <= 3
    assert not TaskRecord.objects.get(step_id="stopme").result


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


def test_the_sweep_fails_tasks_whose_worker_died_and_expires_old_results(fake_voices, settings):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    old = timezone.now() - timedelta(hours=settings.TTS_TASK_RETENTION_HOURS + 1)
    TaskRecord.objects.create(step_id="zombie", status="processing", started_at=old, heartbeat_at=old)
    done = TaskRecord.objects.create(step_id="old", status="completed", completed_at=old)
    done.result.save("old.mp3", ContentFile(b"data"))
    path = done.result.path
    assert services.sweep() == {"failed": 1, "expired": 1}
    assert TaskRecord.objects.get(step_id="zombie").status == "failed"
    assert not TaskRecord.objects.filter(step_id="old").exists()
    assert not os.path.exists(path)


def test_bad_fields_are_400(client, fake_voices):
    response = create(client, "x", packer="json", top_p=3)
    assert response.status_code == 400 and "top_p" in response.json()["detail"]
