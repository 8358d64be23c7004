"""OpenAI-compatible speech API: /v1/audio/speech, /v1/models, /v1/audio/voices."""
from __future__ import annotations

import base64
import json
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import StreamingHttpResponse
from rest_framework import serializers
from rest_framework.response import Response

from voices import services as voice_services

from .. import services
from ..audio.encoders import FORMATS
from ..dispatch import Job
from ..types import SynthesisRequest, Turn
from ..errors import TTSError
from ..reference import looks_like_url
from ..streaming import ResponseStream, encoded_stream, first_audio
from ..text.language import detect
from ..types import VoiceRef
from .answers import speech_response
from .common import (LEVELS, PITCH_SEMITONES, DialectView, RateField, SamplingFields, SegmentFields,
                     choice, cloned_voice, output_sample_rate, reference_bytes, sampling_params)


class SpeechSerializer(SamplingFields, SegmentFields, RateField):
    model = serializers.CharField(required=False, default="tts-1")
    input = serializers.CharField(trim_whitespace=False)
    voice = serializers.CharField()
    response_format = choice(FORMATS, "mp3")
    speed = serializers.FloatField(default=1.0, min_value=0.25, max_value=4.0)
    stream_format = choice(("audio", "sse"), "audio")
    instructions = serializers.CharField(required=False, allow_blank=True)
    pitch = choice(LEVELS, "moderate")


class OpenAIView(DialectView):
    def error_body(self, status, message, field, code, details=None):
        kind = "invalid_request_error" if status < 500 else "server_error"
        return {"error": {"message": message, "type": kind, "param": field, "code": code}}

    validation_status = 400  # OpenAI reports field errors as 400


class SpeechView(OpenAIView):
    async def post(self, request):
        data = self.validated(SpeechSerializer, request)
        text = services.check_text(data["input"], field="input")
        voice = await speech_voice(data["voice"], text)
        # OpenAI documents pcm as 24 kHz; every response here is streamed
        rate = output_sample_rate(settings.TTS_OPENAI_SAMPLE_RATE, data["response_format"], True,
                                  data.get("sample_rate"))
        synthesis = SynthesisRequest(
            turns=[Turn(voice, text)], speed=data["speed"], pitch=PITCH_SEMITONES[data["pitch"]],
            sampling=sampling_params(data), length_threshold=data["length_threshold"],
            window_size=data["window_size"], sample_rate=rate, dialect="openai")
        if data["stream_format"] == "sse":
            job = await services.astart_synthesis(synthesis)
            return StreamingHttpResponse(await sse_events(job, data["response_format"], text),
                                         content_type="text/event-stream",
                                         headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        # OpenAI streams speech audio as it is produced; SDKs read it chunk by chunk.
        return await speech_response(request, synthesis, data["response_format"], stream=True)


async def speech_voice(value: str, text: str) -> VoiceRef:
    """A catalog voice or blend by name, or a clone when `voice` holds audio (base64 or a URL)."""
    if looks_like_url(value) or len(value) > 255 or value.startswith("data:"):
        raw = await reference_bytes(value, None, "voice", "voice")
        return await cloned_voice(raw, "voice")
    return await voice_services.aresolve_voice(value, text=text, openai_aliases=True)


async def sse_events(job: Job, fmt: str, text: str) -> ResponseStream:
    """Started once the first audio exists: speech.audio.delta events with base64 audio, then
    speech.audio.done, or an error event when synthesis failed after the first audio."""
    await first_audio(job)

    async def events():
        audio_bytes = 0
        async for data in encoded_stream(job, fmt):
            audio_bytes += len(data)
            yield _event({"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()})
        if job.stream_error:
            yield _event({"type": "error", "error": {"message": job.stream_error, "type": "server_error",
                                                     "code": "synthesis_failed"}})
            return
        # No tokenizer here: usage counts input characters and output audio bytes.
        usage = {"input_tokens": len(text), "output_tokens": audio_bytes, "total_tokens": len(text) + audio_bytes}
        yield _event({"type": "speech.audio.done", "usage": usage})

    return ResponseStream(events, job.cancel)


def _event(payload: dict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _model_list() -> list[dict]:
    created = int(time.time())
    models = [{"id": name, "object": "model", "created": created, "owned_by": "ttsproject"}
              for name in settings.TTS_ENGINES]
    models += [{"id": alias, "object": "model", "created": created, "owned_by": "ttsproject"}
               for alias in ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")]
    return models


class ModelsView(OpenAIView):
    async def get(self, request):
        return Response({"object": "list", "data": _model_list()})


def _voice_list(text: str) -> dict:
    """Catalog voices with language and gender, the default voice of each language, and with `text`
    the language detected in it and the voice that would speak it."""
    body = {"object": "list", "data": voice_services.catalog(), "defaults": voice_services.language_defaults(),
            "server_default_voice": voice_services.page_default_voice()}
    if text.strip():
        body["text_language"] = detect(text)
        try:
            body["default_voice"] = voice_services.default_voice(text).name
        except TTSError:  # no voice speaks that language
            body["default_voice"] = None
    return body


class VoicesView(OpenAIView):
    async def get(self, request):
        text = request.query_params.get("text", "")[:settings.TTS_MAX_TEXT_LENGTH]
        return Response(await sync_to_async(_voice_list)(text))
