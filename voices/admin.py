from django.contrib import admin
from django.utils.html import format_html

from .models import Voice


@admin.register(Voice)
class VoiceAdmin(admin.ModelAdmin):
    list_display = ("name", "engine", "language", "gender", "is_builtin", "enabled", "player", "created_by",
                    "created_at")
    list_filter = ("engine", "language", "gender", "is_builtin", "enabled")
    search_fields = ("name", "description", "reference_text", "engine_voice")
    readonly_fields = ("player", "created_at", "updated_at")
    fields = ("name", "engine", "engine_voice", "language", "gender", "description", "reference_audio",
              "reference_text", "player", "latent", "sample_audio", "is_builtin", "enabled", "created_by",
              "created_at", "updated_at")

    @admin.display(description="audio")
    def player(self, voice: Voice):
        audio = voice.sample_audio or voice.reference_audio
        if not audio:
            return "-"
        return format_html('<audio controls preload="none" src="{}"></audio>', audio.url)

    def save_model(self, request, obj, form, change):
        if not change and not obj.created_by:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
