from django.db import models


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

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.step_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
