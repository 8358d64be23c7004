from django.db import models


class CachedAudio(models.Model):
    """One encoded answer of the output cache, stored under its content address (see audio_cache)."""

    key = models.CharField(max_length=64, primary_key=True)
    file = models.FileField(upload_to="cache/audio/", max_length=255)
    fmt = models.CharField(max_length=8)
    sample_rate = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField()
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.key[:12]}… ({self.fmt}, {self.size} bytes)"
