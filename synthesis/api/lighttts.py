"""LightTTS dialect: /inference_zero_shot, /query_tts_model; 16-bit mono PCM out.

Errors are {"message", "detail", "error_code"}; text over the limit is 422 as the spec shows.
"""
from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from rest_framework import serializers
from rest_framework.response import Response


from .. import services
from ..engines.base import CAP_CLONE
from ..engines.registry import engine_class
from ..errors import TextTooLong, TTSError
from ..types import SynthesisRequest, Turn
from .answers import speech_response
from .common import DialectView, cloned_voice, reference_bytes

ERROR_CODES = {400: "INVALID_PARAMETER", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 413: "FILE_TOO_LARGE",
               422: "VALIDATION_ERROR", 429: "RATE_LIMITED", 500: "INTERNAL_ERROR", 503: "MODEL_NOT_READY"}
MESSAGES = {400: "Invalid request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 413: "File too large",
            422: "Validation failed", 429: "Too many requests", 500: "Synthesis failed", 503: "Model not ready"}


def error_body(status: int, message: str, code: str | None = None) -> dict:
    return {"message": MESSAGES.get(status, "Error"), "detail": message,
            "error_code": code if code and code.isupper() else ERROR_CODES.get(status, "ERROR")}


class ZeroShotSerializer(serializers.Serializer):
    tts_text = serializers.CharField(trim_whitespace=False)
    prompt_text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    prompt_wav = serializers.FileField()
    stream = serializers.BooleanField(default=False)
    tts_model_name = serializers.CharField(default="default")
    speed = serializers.FloatField(default=1.0, min_value=0.5, max_value=2.0)


def model_names() -> list[str]:
    """What /query_tts_model lists: the upstream model names (aliases) first, then the engines."""
    return [*settings.TTS_LIGHTTTS_MODELS, *settings.TTS_ENGINES]


def engine_name_for(model_name: str) -> str:
    """The engine a tts_model_name means: an alias (`CosyVoice2` ...) or `default` is the engine that
    clones (TTS_CLONE_ENGINE); otherwise an enabled engine's name, which must be able to clone."""
    name = settings.TTS_LIGHTTTS_MODELS.get(model_name, model_name)
    if name in ("", "default"):
        return services.clone_engine().name
    if name not in settings.TTS_ENGINES:
        raise TTSError(f"tts_model_name {model_name!r} is not loaded; loaded: {', '.join(model_names())}",
                       field="tts_model_name", status=404)
    if CAP_CLONE not in engine_class(name).capabilities:
        cloners = [n for n in settings.TTS_ENGINES if CAP_CLONE in engine_class(n).capabilities]
        raise TTSError(f"tts_model_name {model_name!r} cannot speak in a reference voice; "
                       f"zero-shot models: {', '.join(cloners) or 'none loaded'}", field="tts_model_name")
    return name


class LightView(DialectView):
    def error_body(self, status, message, field, code, details=None):
        return error_body(status, message)

    def handle_exception(self, exc):
        if isinstance(exc, TextTooLong):
            return Response({"message": "Text too long", "detail": exc.message, "error_code": "TEXT_TOO_LONG"},
                            status=422)
        return super().handle_exception(exc)

    validation_status = 400


class ZeroShotView(LightView):
    async def post(self, request):
        data = self.validated(ZeroShotSerializer, request)
        text = services.check_text(data["tts_text"], field="tts_text")
        engine = await sync_to_async(engine_name_for)(data["tts_model_name"])
        raw = await reference_bytes(None, data["prompt_wav"], "prompt_wav", "prompt_wav")
        voice = await cloned_voice(raw, "prompt_wav", engine=engine, text=data["prompt_text"])
        rate = settings.TTS_LIGHTTTS_SAMPLE_RATE
        return await speech_response(request, SynthesisRequest([Turn(voice, text)], speed=data["speed"],
                                                                sample_rate=rate, dialect="lighttts"),
                                     "pcm", data["stream"], {"X-Sample-Rate": str(rate)},
                                     content_type="application/octet-stream")


class QueryModelsView(LightView):
    async def get(self, request):
        return Response({"tts_models": model_names()})

    async def post(self, request):
        return Response({"tts_models": model_names()})
