from django.contrib import admin, messages
from django.utils.html import format_html

from . import services
from .models import TaskRecord


def human_duration(seconds: float | None) -> str:
    """12 s, 3 min 4 s, 1 h 2 min."""
    if seconds is None:
        return "-"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _request(record: TaskRecord) -> tuple[dict, list[dict]]:
    """The fields the client sent and the planned turns, as create_task records them."""
    params = record.params or {}
    return params.get("fields") or {}, (params.get("request") or {}).get("turns") or []


@admin.register(TaskRecord)
class TaskRecordAdmin(admin.ModelAdmin):
    list_display = ("step_id", "status", "voice", "text_excerpt", "progress", "took", "audio_length", "created",
                    "error_excerpt", "download")
    list_filter = ("status", "engine", "format")
    search_fields = ("step_id", "error")
    readonly_fields = [f.name for f in TaskRecord._meta.fields] + ["download", "took", "audio_length"]
    actions = ["cancel_tasks"]

    @admin.display(description="voice")
    def voice(self, record: TaskRecord):
        fields, turns = _request(record)
        if fields.get("reference_id"):
            return fields["reference_id"]
        if fields.get("references"):
            return "from reference audio"
        names = list(dict.fromkeys(str(t.get("voice", {}).get("name", "")) for t in turns))
        return ", ".join(n for n in names if n) or "default voice"

    @admin.display(description="created", ordering="created_at")
    def created(self, record: TaskRecord):
        return f"{record.created_at:%Y-%m-%d %H:%M}" if record.created_at else "-"

    @admin.display(description="text")
    def text_excerpt(self, record: TaskRecord):
        fields, turns = _request(record)
        text = " ".join(str(fields.get("text") or " ".join(t.get("text", "") for t in turns)).split())
        return text if len(text) <= 60 else text[:59] + "…"

    @admin.display(description="progress")
    def progress(self, record: TaskRecord):
        return f"{record.segments_done}/{record.segments_total}" if record.segments_total else "-"

    @admin.display(description="took")
    def took(self, record: TaskRecord):
        if not record.started_at:
            return "-"
        if not record.completed_at:
            return "running" if record.is_active else "-"
        return human_duration((record.completed_at - record.started_at).total_seconds())

    @admin.display(description="audio")
    def audio_length(self, record: TaskRecord):
        return human_duration(record.audio_duration) if record.audio_duration else "-"

    @admin.display(description="error")
    def error_excerpt(self, record: TaskRecord):
        return record.error if len(record.error) <= 80 else record.error[:79] + "…"

    @admin.display(description="result")
    def download(self, record: TaskRecord):
        if not record.result:
            return "-"
        return format_html('<a href="{}" download>download</a>', record.result.url)

    @admin.action(description="Cancel selected tasks")
    def cancel_tasks(self, request, queryset):
        stopped = 0
        for record in queryset.filter(status__in=TaskRecord.ACTIVE):
            stopped += services.stop_task(record.step_id)[1]  # not one that ended meanwhile
        self.message_user(request, f"Cancelled {stopped} task(s)", messages.SUCCESS)

    def has_add_permission(self, request):
        return False
