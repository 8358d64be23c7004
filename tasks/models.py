from django.conf import settings
from django.db import models


class TaskQuerySet(models.QuerySet):
    def visible_to(self, principal):
        """The tasks a caller may read, download and stop: its owner's (the key's own when it has no
        owner); all of them for the server's own work, the full-access key and admin keys."""
        if principal is None or principal.sees_everything:
            return self
        if principal.owner_id is None:
            return self.filter(api_key_id=principal.key_id) if principal.key_id else self.none()
        return self.filter(owner_id=principal.owner_id)


class TaskRecord(models.Model):
    """A durable async generation job (Fish Speech's /generate_audio_enhanced_async)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.PENDING, Status.PROCESSING)

    step_id = models.CharField(max_length=255, unique=True)
    params = models.JSONField(default=dict, help_text="The request as received, minus reference audio bytes.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    engine = models.CharField(max_length=64, blank=True)
    format = models.CharField(max_length=8, default="mp3")
    result = models.FileField(upload_to="tasks/results/", blank=True)
    audio_duration = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="Who runs it: host:pid:run (one run at a time).")
    segments_total = models.PositiveIntegerField(default=0, help_text="Pieces of whole sentences the text is cut in.")
    segments_done = models.PositiveIntegerField(default=0, help_text="Pieces synthesized and stored; a resumed "
                                                                      "run starts after them.")
    sample_rate = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0, help_text="Runs started (a resumed run counts again).")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="tts_tasks", help_text="Whose keys may read, download and stop it.")
    api_key = models.ForeignKey("synthesis.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="tasks", help_text="The API key that created it (charged its audio).")

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.step_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
