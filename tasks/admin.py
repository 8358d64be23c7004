from django.contrib import admin, messages
from django.utils.html import format_html

from . import services
from .models import TaskRecord


@admin.register(TaskRecord)
class TaskRecordAdmin(admin.ModelAdmin):
    list_display = ("step_id", "status", "engine", "format", "audio_duration", "created_at", "completed_at",
                    "download")
    list_filter = ("status", "engine", "format")
    search_fields = ("step_id", "error")
    readonly_fields = [f.name for f in TaskRecord._meta.fields] + ["download"]
    actions = ["cancel_tasks"]

    @admin.display(description="result")
    def download(self, record: TaskRecord):
        if not record.result:
            return "-"
        return format_html('<a href="{}" download>download</a>', record.result.url)

    @admin.action(description="Cancel selected tasks")
    def cancel_tasks(self, request, queryset):
        stopped = 0
        for record in queryset.filter(status__in=TaskRecord.ACTIVE):
            services.stop_task(record.step_id)
            stopped += 1
        self.message_user(request, f"Cancelled {stopped} task(s)", messages.SUCCESS)

    def has_add_permission(self, request):
        return False
