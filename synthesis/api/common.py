"""Parsing shared by every dialect: enums, sampling fields, reference audio, error mapping."""
from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework import serializers
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from adrf.views import APIView

from .. import keys, services
from ..audio.encoders import output_rate
from ..dispatch import Job, SynthesisFailed
from ..engines.base import SamplingParams
from ..errors import Conflict, Forbidden, InvalidField, InvalidInput, PayloadTooLarge, TTSError
from ..fetch import read_audio_source
from ..streaming import encoded_whole, open_stream
from ..types import VoiceRef
from .scopes import missing_scope_message
from .auth import bearer_token

logger = logging.getLogger(__name__)

LEVELS = ("very_low", "low", "moderate", "high", "very_high")
PITCH_SEMITONES = {"very_low": -4.0, "low": -2.0, "moderate": 0.0, "high": 2.0, "very_high": 4.0}
SPEED_FACTORS = {"very_low": 0.7, "low": 0.85, "moderate": 1.0, "high": 1.2, "very_high": 1.4}


def choice(choices, default, **kwargs):
    return serializers.ChoiceField(
        choices=choices, default=default,
        error_messages={"invalid_choice": f"must be one of {', '.join(choices)}"}, **kwargs)


class SamplingFields(serializers.Serializer):
    """Sampling controls; accepted everywhere, used by engines with the sampling capability."""

    temperature = serializers.FloatField(required=False, min_value=0.0, max_value=2.0)
    top_k = serializers.IntegerField(required=False, min_value=0, max_value=1000)
    top_p = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    repetition_penalty = serializers.FloatField(required=False, min_value=0.1, max_value=10.0)
    max_tokens = serializers.IntegerField(required=False, min_value=1, max_value=65536)
    seed = serializers.IntegerField(required=False, min_value=0)


SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)


class RateField(serializers.Serializer):
    """`sample_rate`: the output rate for this request (an extension to the dialects that lack it)."""

    sample_rate = serializers.ChoiceField(SAMPLE_RATES, required=False,
                                          error_messages={"invalid_choice": "must be one of "
                                                          + ", ".join(map(str, SAMPLE_RATES))})


def output_sample_rate(dialect_rate: int, fmt: str, streamed: bool, requested: int | None = None) -> int | None:
    """The rate a response is made at: what the request asks, else for raw PCM and streamed WAV the
    rate the dialect's clients assume (they play the bytes without reading a header), else the
    engine's own (None)."""
    if requested:
        return int(requested)
    if fmt == "pcm" or (fmt == "wav" and streamed):
        return dialect_rate
    return None


class SegmentFields(serializers.Serializer):
    length_threshold = serializers.IntegerField(default=50, min_value=1, max_value=1000)
    window_size = serializers.IntegerField(default=50, min_value=1, max_value=1000)


def sampling_params(data: dict) -> SamplingParams:
    return SamplingParams(temperature=data.get("temperature"), top_k=data.get("top_k"),
                          top_p=data.get("top_p"), repetition_penalty=data.get("repetition_penalty"),
                          max_tokens=data.get("max_tokens") or data.get("max_new_tokens") or None,
                          seed=data.get("seed"))


async def reference_bytes(value: str | None, upload, field: str, file_field: str) -> bytes:
    """Raw reference audio from a URL/base64 string or an uploaded file (exactly one)."""
    limits = services.intake_limits()
    if upload is not None:
        if upload.size > limits.max_bytes:
            raise PayloadTooLarge(f"{file_field} is larger than {limits.max_bytes} bytes", field=file_field)
        return await sync_to_async(upload.read, thread_sensitive=False)()
    if value:
        return await read_audio_source(value, field, limits, settings.TTS_URL_FETCHERS)
    raise InvalidInput(f"one of {field} or {file_field} is required", field=field)


async def prepare_reference(data: bytes, field: str, cached: bool = True):
    return await sync_to_async(services.prepare_reference, thread_sensitive=False)(data, field, cached)


async def save_voice_from_audio(name: str, raw: bytes, field: str, reference_text: str, request=None) -> None:
    """Prepare reference audio and store it (with its latent) as the catalog voice `name`, with who
    sent it and the optional `consent` statement of the request (one field for every dialect)."""
    from voices import services as voice_services

    prepared = await prepare_reference(raw, field)
    consent = str(request.data.get("consent", "") or "")[:4000] if request is not None else ""
    await sync_to_async(voice_services.add_voice)(name, prepared, reference_text, consent=consent,
                                                  created_by=api_client(request))


def api_client(request) -> str:
    """Who called the API, for the catalog's "created by": the key's last characters, else the address."""
    if request is None:
        return "api"
    token = bearer_token(request.headers.get("Authorization", "")) if settings.TTS_API_KEY else ""
    if token:
        return f"API key …{token[-4:]}"
    return f"API without key ({request.META.get('REMOTE_ADDR') or 'unknown address'})"


async def refuse_existing_voice(name: str, label: str = "voice") -> None:
    """409 before any audio is analysed when `name` is taken."""
    from voices import services as voice_services

    if await sync_to_async(voice_services.voice_exists)(name):
        raise Conflict(f"{label} {name!r} already exists", field="name")


def _clone_ref(data: bytes, field: str, cached: bool, engine_name: str | None, text: str) -> VoiceRef:
    prepared = services.prepare_reference(data, field, cached)
    engine = services.clone_engine(engine_name)
    return VoiceRef("reference", engine.name, "", "", services.reference_latent(prepared, engine, text))


def require_scope(scope: str, field: str | None = None) -> None:
    """Forbidden unless the caller's key has `scope` (for a step a route's own scope does not cover)."""
    principal = keys.current()
    if principal is not None and not principal.allows(scope):
        raise Forbidden(missing_scope_message(scope), field=field)


async def cloned_voice(data: bytes, field: str, cached: bool = True, engine: str | None = None,
                       text: str = "") -> VoiceRef:
    """A voice that follows the reference recording `data` (checked, prepared, analysed once);
    `text`, its transcript if the client sent one, goes to engines that use it. The caller's key
    needs the `clone` scope, whatever the route."""
    require_scope("clone", field)
    return await sync_to_async(_clone_ref, thread_sensitive=False)(data, field, cached, engine, text)


async def audio_response(job: Job, fmt: str, stream: bool, headers: dict | None = None,
                         content_type: str | None = None) -> HttpResponse:
    """A chunked stream when `stream`, else the whole file once synthesized."""
    headers = {"Cache-Control": "no-store", "X-Sample-Rate": str(output_rate(fmt, job.sample_rate)),
               **(headers or {})}
    content_type = content_type or services.content_type(fmt)
    if stream:
        response = StreamingHttpResponse(await open_stream(job, fmt), content_type=content_type, headers=headers)
        response["X-Accel-Buffering"] = "no"
        return response
    body = await encoded_whole(job, fmt)
    return HttpResponse(body, content_type=content_type, headers=headers)


class AnyAccept(BaseContentNegotiation):
    """Audio endpoints answer audio whatever Accept says; JSON bodies are JSON."""

    def select_parser(self, request, parsers):
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DialectView(APIView):
    """Base view: subclasses shape errors in their dialect by overriding error_body."""

    content_negotiation_class = AnyAccept
    renderer_classes = [JSONRenderer]
    validation_status = 422  # what the dialect answers for a field that fails validation

    def validated(self, serializer_class, request) -> dict:
        """The request body validated by `serializer_class` (errors go to handle_exception)."""
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def error_body(self, status: int, message: str, field: str | None, code: str, details=None) -> dict:
        return {"detail": details if details is not None else message}

    def handle_exception(self, exc):
        if isinstance(exc, InvalidField):  # as a serializer's error is: the dialect's status and shape
            details = self.validation_details([(exc.field or "", exc.message)])
            return Response(self.error_body(self.validation_status, exc.message, exc.field, "validation_error",
                                            details=details), status=self.validation_status)
        if isinstance(exc, TTSError):
            response = Response(self.error_body(exc.status, exc.message, exc.field, exc.code), status=exc.status)
            if getattr(exc, "retry_after", None):
                response["Retry-After"] = str(exc.retry_after)
            return response
        if isinstance(exc, DRFValidationError):
            return self.validation_response(exc)
        if isinstance(exc, SynthesisFailed):
            logger.error("synthesis failed: %s", exc)
            return Response(self.error_body(500, f"synthesis failed: {exc}", None, "synthesis_failed"),
                            status=500)
        if isinstance(exc, (ParseError, UnsupportedMediaType)):
            return Response(self.error_body(exc.status_code, str(exc.detail), None, "parse_error"),
                            status=exc.status_code)
        if isinstance(exc, APIException):
            return Response(self.error_body(exc.status_code, str(exc.detail), None, "error"),
                            status=exc.status_code)
        return super().handle_exception(exc)

    def validation_response(self, exc: DRFValidationError) -> Response:
        errors = flatten_errors(exc.detail)
        field, message = errors[0] if errors else (None, "invalid request")
        status = self.validation_status
        return Response(self.error_body(status, f"{field}: {message}" if field else message, field,
                                        "validation_error", details=self.validation_details(errors)),
                        status=status)

    def validation_details(self, errors):
        return None


def flatten_errors(detail, prefix: str = "") -> list[tuple[str, str]]:
    """[(field path, message)] from DRF's nested error detail."""
    out = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            out.extend(flatten_errors(value, f"{prefix}.{name}" if prefix and name else prefix or name))
    elif isinstance(detail, list):
        for item in detail:
            out.extend(flatten_errors(item, prefix))
    else:
        out.append((prefix, str(detail)))
    return out

