from django.contrib import admin, messages
from django.utils.html import format_html

from . import services
from .models import Voice


@admin.register(Voice)
class VoiceAdmin(admin.ModelAdmin):
    list_display = ("name", "engine", "language", "gender", "is_builtin", "enabled", "is_public", "latent_status",
                    "player", "created_by", "owner", "api_key", "created_at")
    list_filter = ("engine", "language", "gender", "is_builtin", "enabled", "is_public", "owner")
    search_fields = ("name", "description", "reference_text", "engine_voice")
    readonly_fields = ("player", "latent_status", "api_key", "created_at", "updated_at")
    fields = ("name", "engine", "engine_voice", "language", "gender", "description", "reference_audio",
              "reference_text", "player", "latent", "latent_status", "sample_audio", "is_builtin", "enabled",
              "is_public", "created_by", "owner", "api_key", "created_at", "updated_at")
    actions = ["synthesize_sample", "enable", "disable", "publish", "unpublish"]

    @admin.display(description="preview")
    def player(self, voice: Voice):
        audio = voice.sample_audio or voice.reference_audio
        if not audio:
            return "-"
        return format_html('<audio controls preload="none" src="{}"></audio>', audio.url)

    @admin.display(description="latent / embedding")
    def latent_status(self, voice: Voice):
        if voice.latent:
            return f"stored ({voice.latent.size} bytes)" if voice.latent.storage.exists(voice.latent.name) else "missing"
        return "built-in voice" if voice.is_builtin or voice.engine_voice else "none"

    @admin.action(description="Synthesize a sample sentence")
    def synthesize_sample(self, request, queryset):
        done = 0
        for voice in queryset:
            try:
                services.synthesize_sample(voice)
                done += 1
            except Exception as e:  # one voice failing must not hide the others' samples
                self.message_user(request, f"{voice.name}: {e}", messages.ERROR)
        self.message_user(request, f"Synthesized {done} sample(s)", messages.SUCCESS)

    @admin.action(description="Enable selected voices")
    def enable(self, request, queryset):
        self.message_user(request, f"Enabled {queryset.update(enabled=True)} voice(s)", messages.SUCCESS)

    @admin.action(description="Disable selected voices")
    def disable(self, request, queryset):
        self.message_user(request, f"Disabled {queryset.update(enabled=False)} voice(s)", messages.SUCCESS)

    @admin.action(description="Publish selected voices (every key may use them)")
    def publish(self, request, queryset):
        self.message_user(request, f"Published {queryset.update(is_public=True)} voice(s)", messages.SUCCESS)

    @admin.action(description="Make selected voices private to their owner")
    def unpublish(self, request, queryset):
        count = queryset.exclude(is_builtin=True).update(is_public=False)
        self.message_user(request, f"{count} voice(s) are private to their owner now (built-in voices stay public)",
                          messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        if not change and not obj.created_by:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
