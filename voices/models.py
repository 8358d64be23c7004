from django.conf import settings
from django.db import models


class VoiceQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)

    def visible_to(self, principal):
        """The voices a caller may list and use: public ones and its owner's (all of them for the
        server's own work, the full-access key and admin keys)."""
        if principal is None or principal.sees_everything:
            return self
        if principal.owner_id is None:
            return self.filter(is_public=True)
        return self.filter(models.Q(is_public=True) | models.Q(owner_id=principal.owner_id))


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
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="voices", help_text="Whose keys may use this voice while it is private.")
    api_key = models.ForeignKey("synthesis.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="voices", help_text="The API key that made this voice.")
    is_public = models.BooleanField(default=True, help_text="Listed and usable by every key (built-in voices are); "
                                                            "a voice made with a key is private to its owner "
                                                            "until a curator publishes it.")
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
