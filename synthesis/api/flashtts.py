"""Flash-TTS dialect: /speak, /multi_speak, /add_speaker, /delete_speaker, /audio_roles.

Errors are FastAPI-shaped: {"detail": "..."}, and 422 {"detail": [{loc, msg, type}]} for
field validation, as Flash-TTS clients expect.
"""
from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from rest_framework import serializers
from rest_framework.response import Response

from voices import services as voice_services

from .. import services
from ..audio.encoders import FORMATS
from ..errors import InvalidField, InvalidInput
from ..text import RoleTagError, split_roles
from ..types import SynthesisRequest, Turn
from .answers import speech_response
from .common import (LEVELS, PITCH_SEMITONES, SPEED_FACTORS, DialectView, RateField, SamplingFields,
                     SegmentFields, api_client, choice, cloned_voice, output_sample_rate, reference_bytes,
                     refuse_existing_voice, sampling_params, save_voice_from_audio)


class SynthesisFields(SamplingFields, SegmentFields, RateField):
    text = serializers.CharField(trim_whitespace=False)
    pitch = choice(LEVELS, "moderate")
    speed = choice(LEVELS, "moderate")
    stream = serializers.BooleanField(default=False)
    response_format = choice(FORMATS, "mp3")


class SpeakSerializer(SynthesisFields):
    name = serializers.CharField()


class CloneSerializer(SynthesisFields):
    reference_audio = serializers.CharField(required=False, allow_blank=True)
    reference_audio_file = serializers.FileField(required=False)
    reference_text = serializers.CharField(required=False, allow_blank=True, default="")
    latent_file = serializers.FileField(required=False)  # Mega-engine latents: accepted, not used here


class FlashView(DialectView):
    def validation_details(self, errors):
        return [{"loc": ["body", field] if field else ["body"], "msg": msg, "type": "value_error"}
                for field, msg in errors]


def build_request(turns: list[Turn], data: dict) -> SynthesisRequest:
    rate = output_sample_rate(settings.TTS_FLASHTTS_SAMPLE_RATE, data["response_format"], data["stream"],
                              data.get("sample_rate"))
    return SynthesisRequest(turns=turns, speed=SPEED_FACTORS[data["speed"]], pitch=PITCH_SEMITONES[data["pitch"]],
                            sampling=sampling_params(data), length_threshold=data["length_threshold"],
                            window_size=data["window_size"], sample_rate=rate, dialect="flashtts")


async def respond(http_request, turns: list[Turn], data: dict):
    fmt = data["response_format"]
    return await speech_response(http_request, build_request(turns, data), fmt, data["stream"],
                                 {"Content-Disposition": f'attachment; filename="audio.{fmt}"'})


class SpeakView(FlashView):
    async def post(self, request):
        data = self.validated(SpeakSerializer, request)
        text = services.check_text(data["text"])
        voice = await voice_services.aresolve_voice(data["name"], text=text)
        return await respond(request, [Turn(voice, text)], data)


class CloneVoiceView(FlashView):
    async def post(self, request):
        data = self.validated(CloneSerializer, request)
        text = services.check_text(data["text"])
        raw = await reference_bytes(data.get("reference_audio"), data.get("reference_audio_file"),
                                    "reference_audio", "reference_audio_file")
        voice = await cloned_voice(raw, "reference_audio", text=data["reference_text"])
        return await respond(request, [Turn(voice, text)], data)


class MultiSpeakView(FlashView):
    async def post(self, request):
        data = self.validated(SynthesisFields, request)
        text = services.check_text(data["text"])
        try:
            parts = split_roles(text)
        except RoleTagError as e:
            raise InvalidInput(str(e), field="text") from e
        turns = [Turn(await voice_services.aresolve_voice(name, text=body), body) for name, body in parts]
        return await respond(request, turns, data)


class AddSpeakerSerializer(serializers.Serializer):
    # A name is one path segment of /voices/<name>/preview and never a blend expression (a(2)+b(1))
    name = serializers.RegexField(r"^(?!\.+$)[\w\-. ]{1,255}$", max_length=255, error_messages={
        "invalid": "must be 1-255 letters (of any script), digits, spaces, '_', '-' or '.'"})
    blend = serializers.CharField(required=False, allow_blank=True)
    audio = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    reference_text = serializers.CharField(required=False, allow_blank=True, default="")
    audio_file = serializers.FileField(required=False)
    latent_file = serializers.FileField(required=False)
    consent = serializers.CharField(required=False, allow_blank=True, max_length=4000,
                                    help_text="The speaker's consent statement, stored with the voice")


class AddSpeakerView(FlashView):
    async def post(self, request):
        data = self.validated(AddSpeakerSerializer, request)
        await refuse_existing_voice(data["name"])
        if data.get("blend"):
            await sync_to_async(voice_services.add_blend)(data["name"], data["blend"], created_by=api_client(request))
            return Response({"success": True, "role": data["name"]})
        raw = await reference_bytes(data.get("audio"), data.get("audio_file"), "audio", "audio_file")
        await save_voice_from_audio(data["name"], raw, "audio", data["reference_text"], request)
        return Response({"success": True, "role": data["name"]})


class DeleteSpeakerView(FlashView):
    async def post(self, request):
        name = str(request.data.get("name", "")).strip()
        if not name:
            raise InvalidField("name is required", field="name")
        await sync_to_async(voice_services.delete_voice)(name)
        return Response({"success": True, "role": name})


class AudioRolesView(FlashView):
    async def get(self, request):
        voices = await sync_to_async(voice_services.catalog)()
        # `roles` as Flash-TTS clients read it; `voices` adds each one's language and gender.
        return Response({"success": True, "roles": [v["name"] for v in voices],
                         "voices": [{k: v[k] for k in ("name", "language", "gender", "engine")} for v in voices]})
