"""Fish Speech async task endpoints: create, status, download, stop one, stop all."""
from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import FileResponse
from rest_framework import serializers
from rest_framework.response import Response

from synthesis.api.fish import FishView, TTSRequestSerializer, build_request
from synthesis import services as synthesis_services
from synthesis.audio.encoders import CONTENT_TYPES, output_rate
from synthesis.errors import InvalidInput, NotFound

from . import services
from .models import TaskRecord


class AsyncGenerateSerializer(TTSRequestSerializer):
    # it names the task in URLs (/get_task_status/<step_id>), so it must be one path segment
    step_id = serializers.RegexField(r"^(?!\.{1,2}$)[A-Za-z0-9._:\-]{1,255}$", error_messages={
        "invalid": "must be 1-255 letters, digits, '.', '_', ':' or '-', and not '.' or '..'"})
    format = serializers.ChoiceField(("wav", "pcm", "mp3", "opus"), default="mp3")
    max_new_tokens = serializers.IntegerField(default=2048, min_value=0)


def public_fields(data: dict) -> dict:
    """The request as recorded: reference audio bytes are summarized, not stored."""
    fields = {k: v for k, v in data.items() if k != "references"}
    fields["references"] = [{"text": r["text"], "audio_bytes": len(r["audio"])} for r in data.get("references", [])]
    return fields


def _epoch(value):
    return value.timestamp() if value else None


def status_body(record: TaskRecord) -> dict:
    done = record.status == TaskRecord.Status.COMPLETED
    return {"success": True, "step_id": record.step_id, "status": record.status,
            "created_at": _epoch(record.created_at), "started_at": _epoch(record.started_at),
            "completed_at": _epoch(record.completed_at),
            "download_url": f"/download_result/{record.step_id}" if done else None,
            "error": record.error or None,
            "progress": {"segments_done": record.segments_done, "segments_total": record.segments_total,
                         "audio_seconds": round(record.audio_duration or 0.0, 2)}}


class GenerateAsyncView(FishView):
    async def post(self, request):
        data = self.validated(AsyncGenerateSerializer, request)
        synthesis_request = await build_request(data, text_limit=settings.TTS_MAX_TASK_TEXT_LENGTH)
        await sync_to_async(synthesis_services.charge_task)(synthesis_request)
        record = await sync_to_async(services.create_task)(data["step_id"], synthesis_request, data["format"],
                                                          public_fields(data))
        return Response({"success": True, "message": "Task created and started", "step_id": record.step_id,
                         "status": TaskRecord.Status.PENDING})


class TaskStatusView(FishView):
    async def get(self, request, step_id):
        record = await sync_to_async(services.find_task)(step_id)
        if record is None:
            return Response({"success": False, "step_id": step_id, "status": "not_found",
                             "detail": f"Task {step_id} not found"}, status=404)
        return Response(status_body(record))


class DownloadResultView(FishView):
    async def get(self, request, step_id):
        record = await sync_to_async(services.get_task)(step_id)
        if record.status != TaskRecord.Status.COMPLETED:
            raise InvalidInput(f"Task {step_id} is not completed (status: {record.status})")
        if not record.result:
            raise NotFound(f"Task {step_id} has no result file")
        handle = await sync_to_async(record.result.open)("rb")
        response = FileResponse(handle, content_type=CONTENT_TYPES.get(record.format, "application/octet-stream"),
                                as_attachment=True, filename=f"audio.{record.format}")
        if record.sample_rate:  # raw PCM has no header to say it
            response["X-Sample-Rate"] = str(output_rate(record.format, record.sample_rate))
        return response


class StopAllView(FishView):
    async def post(self, request):
        count = await sync_to_async(services.stop_all)()
        return Response({"success": True, "message": f"Stopped {count} task(s)"})


class StopTaskView(FishView):
    async def post(self, request, step_id):
        record, stopped = await sync_to_async(services.stop_task)(step_id)
        # Stopping a task that has ended already is no error (the seed knows only 404), but it says so
        message = f"Task {step_id} stopped" if stopped else f"Task {step_id} had already ended ({record.status})"
        return Response({"success": True, "message": message, "step_id": step_id, "status": record.status})
