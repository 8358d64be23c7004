import pytest

from tasks.models import TaskRecord

pytestmark = pytest.mark.django_db




def test_the_voice_admin_lists_and_filters(admin_client, fake_voices):
    page = admin_client.get("/admin/voices/voice/?engine=fake")
    assert page.status_code == 200 and b"fake_a" in page.content


def test_the_task_admin_cancels_selected_tasks(admin_client):
    TaskRecord.objects.create(step_id="t1", status="processing")
    TaskRecord.objects.create(step_id="t2", status="completed")
    assert admin_client.get("/admin/tasks/taskrecord/?status=processing").status_code == 200
    ids = list(TaskRecord.objects.values_list("pk", flat=True))
    response = admin_client.post("/admin/tasks/taskrecord/", {"action": "cancel_tasks", "_selected_action": ids})
    assert response.status_code == 302
    assert TaskRecord.objects.get(step_id="t1").status == "cancelled"
    assert TaskRecord.objects.get(step_id="t2").status == "completed"
