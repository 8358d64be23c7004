"""API keys for people (scopes, quotas, expiry) and their usage per day."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

SCOPES = ("speak", "clone", "voices", "tasks", "metrics", "admin")
SCOPE_CHOICES = [
    ("speak", "speak: synthesize with catalog voices, list voices and models"),
    ("clone", "clone: speak in the voice of uploaded reference audio"),
    ("voices", "voices: add, rename and delete its owner's voices"),
    ("tasks", "tasks: async generation, task status, downloads, stops"),
    ("metrics", "metrics: read /metrics"),
    ("admin", "admin: everything, every voice included (like TTS_API_KEY)"),
]


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True)
                                                           | models.Q(expires_at__gt=now))


class ApiKey(models.Model):
    """A person's (or a team's) key: only its digest is stored; the token is shown once."""

    name = models.CharField(max_length=100, unique=True, help_text="Shown in usage, metrics and the admin.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys",
                              help_text="Voices made with this key belong to this user.")
    prefix = models.CharField(max_length=16, editable=False, help_text="The token's first characters.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    characters_per_day = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class UsageDay(models.Model):
    """What one key used on one day through one dialect and engine (engine '' for requests that
    synthesized nothing)."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField(db_index=True)
    dialect = models.CharField(max_length=32)
    engine = models.CharField(max_length=64, blank=True)
    requests = models.PositiveBigIntegerField(default=0)
    characters = models.PositiveBigIntegerField(default=0)
    audio_seconds = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-day", "key__name", "dialect", "engine"]
        verbose_name = "usage per day"
        verbose_name_plural = "usage per day"
        constraints = [models.UniqueConstraint(fields=["key", "day", "dialect", "engine"], name="usage_day_unique")]

    def __str__(self):
        return f"{self.key} {self.day} {self.dialect}/{self.engine or '-'}"


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
