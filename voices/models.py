from django.db import models


class VoiceQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)


class Voice(models.Model):
    """A named voice of the catalog: a built-in engine voice or one added from audio."""

    class Gender(models.TextChoices):
        FEMALE = "female"
        MALE = "male"
        UNKNOWN = "", "unknown"

    name = models.CharField(max_length=255, unique=True)
    engine = models.CharField(max_length=64, db_index=True)
    engine_voice = models.CharField(max_length=255, help_text="The engine's own id for this voice.")
    language = models.CharField(max_length=16, blank=True, db_index=True)
    gender = models.CharField(max_length=16, blank=True, choices=Gender.choices)
    description = models.TextField(blank=True)
    reference_audio = models.FileField(upload_to="voices/reference/", blank=True)
    reference_text = models.TextField(blank=True)
    latent = models.FileField(upload_to="voices/latents/", blank=True)
    sample_audio = models.FileField(upload_to="voices/samples/", blank=True)
    is_builtin = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True)
    consent_statement = models.TextField(blank=True, help_text="What the speaker agreed to, as they were shown it.")
    consent_by = models.CharField(max_length=255, blank=True, help_text="Who confirmed the consent.")
    consent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VoiceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.engine})"

    @property
    def kind(self) -> str:
        """built-in, cloned (from audio, with a latent) or blend."""
        if self.is_builtin:
            return "built-in"
        if self.latent:
            return "cloned"
        return "blend" if "+" in self.engine_voice or "(" in self.engine_voice else "engine voice"
