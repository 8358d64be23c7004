from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from synthesis import services as synthesis_services
from synthesis.errors import TTSError

from . import services
from .models import Voice
from .samples import synthesize_sample


class VoiceFromAudioForm(forms.ModelForm):
    """A curator adds a voice the way the API clones one: the upload is decoded and analysed, its
    latent computed by the engine that can clone, the new voice speaks a test sentence, and only then
    is it saved. A voice that cannot speak is refused here, with the reason."""

    recording = forms.FileField(help_text="1–30 s of one person speaking (wav, mp3, flac, ogg, m4a, webm).")
    reference_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                     help_text="What the recording says (optional).")
    consent_statement = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the speaker agreed to (stored with the voice, with your name and the time).")

    class Meta:
        model = Voice
        fields = ("name", "gender", "description")

    def __init__(self, *args, created_by: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.created_by = created_by

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if Voice.objects.filter(name=data["name"]).exists():  # before the recording is analysed
            raise forms.ValidationError({"name": f"A voice named {data['name']!r} already exists."})
        upload = data["recording"]
        limit = synthesis_services.intake_limits().max_bytes
        if upload.size > limit:
            raise forms.ValidationError({"recording": f"The recording is larger than {limit} bytes."})
        try:
            prepared = synthesis_services.prepare_reference(upload.read(), "recording")
            voice = services.add_voice(data["name"], prepared, data.get("reference_text", ""),
                                       created_by=self.created_by, consent=data.get("consent_statement", ""),
                                       gender=data.get("gender", ""))
        except TTSError as e:
            raise forms.ValidationError({e.field if e.field in ("name",) else "recording": _sentence(e.message)}) from e
        if data.get("description"):
            voice.description = data["description"]
            voice.save(update_fields=["description", "updated_at"])
        self.instance = voice
        return data

    def save(self, commit=True):
        self.save_m2m = lambda: None
        return self.instance  # add_voice saved it, with its files, in one step


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


@admin.register(Voice)
class VoiceAdmin(admin.ModelAdmin):
    # Fits at 1280 px beside the admin's navigation; the engine is a filter.
    list_display = ("name", "kind", "language", "gender", "enabled", "is_public", "player", "created_by", "added")
    list_filter = ("engine", "language", "gender", "is_builtin", "enabled", "is_public", "owner")
    search_fields = ("name", "description", "reference_text", "engine_voice", "created_by")
    readonly_fields = ("kind", "engine", "engine_voice", "reference_audio", "latent", "latent_status", "player",
                       "sample_audio", "is_builtin", "created_by", "api_key", "consent_statement", "consent_by", "consent_at",
                       "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "language", "gender", "description", "enabled")}),
        ("How it speaks", {"fields": ("kind", "engine", "engine_voice", "reference_text", "reference_audio",
                                      "latent", "latent_status", "player")}),
        ("Who may use it", {"fields": ("is_public", "owner", "api_key")}),
        ("Provenance", {"fields": ("created_by", "created_at", "updated_at", "consent_statement", "consent_by",
                                   "consent_at")}),
    )
    add_fieldsets = ((None, {"fields": ("name", "recording", "reference_text", "gender", "description",
                                        "consent_statement"),
                             "description": "The voice is made by the engine that can clone, as the API does: "
                                            "the recording is analysed, the voice speaks a test sentence, and "
                                            "it is saved only if that works."}),)
    actions = ["synthesize_sample", "enable", "disable", "publish", "unpublish"]

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)
        form = VoiceFromAudioForm
        created_by = request.user.get_username()

        class AddForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, created_by=created_by, **inner)

        return AddForm

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        # a new voice was saved by add_voice while the form was validated

    @admin.display(description="kind")
    def kind(self, voice: Voice):
        return voice.kind

    @admin.display(description="added", ordering="created_at")
    def added(self, voice: Voice):
        return f"{voice.created_at:%Y-%m-%d}" if voice.created_at else "-"

    @admin.display(description="preview")
    def player(self, voice: Voice):
        audio = voice.sample_audio or voice.reference_audio
        if not audio:
            return "-"
        return format_html('<audio controls preload="none" src="{}" style="width:8.5rem;height:2rem"></audio>',
                           audio.url)

    @admin.display(description="latent / embedding")
    def latent_status(self, voice: Voice):
        if voice.latent:
            if not voice.latent.storage.exists(voice.latent.name):
                return "missing: the stored latent file is gone"
            return f"stored ({voice.latent.size} bytes), computed from the reference by {voice.engine}"
        if voice.is_builtin:
            return f"none needed: {voice.engine}'s own voice {voice.engine_voice!r}"
        if voice.kind == "blend":
            return f"none needed: a blend of {voice.engine_voice}"
        return "none"

    @admin.action(description="Synthesize a sample sentence")
    def synthesize_sample(self, request, queryset):
        done, failed = 0, 0
        for voice in queryset:
            try:
                synthesize_sample(voice)
                done += 1
            except Exception as e:  # one voice failing must not hide the others' samples
                failed += 1
                self.message_user(request, f"{voice.name}: {e}", messages.ERROR)
        if failed and not done:
            self.message_user(request, f"No sample was made: all {failed} selected voice(s) failed.",
                              messages.ERROR)
        elif failed:
            self.message_user(request, f"Synthesized {done} sample(s); {failed} voice(s) failed.", messages.WARNING)
        else:
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
