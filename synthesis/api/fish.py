"""Fish Speech dialect: /v1/tts, /v1/references/*, /v1/vqgan/*, /v1/health.

Bodies may be JSON or msgpack; structured responses follow ?format= or Accept.
Errors are {"detail": "..."} with the spec's status codes (400 for bad parameters).
"""
from __future__ import annotations

import base64
import binascii
import re

from asgiref.sync import sync_to_async
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from voices import services as voice_services

from .. import services
from ..engines.base import CAP_CODEC
from ..errors import InvalidInput, NotImplementedByEngine
from ..types import SynthesisRequest, Turn
from .answers import speech_response
from .common import (DialectView, RateField, cloned_voice, output_sample_rate, prepare_reference,
                     reference_bytes, refuse_existing_voice, sampling_params, save_voice_from_audio)
from .msgpack import (BytesJSONRenderer, FormatOrAccept, MsgpackParser, MsgpackRenderer, ObjectJSONParser,
                      XMsgpackParser)

FISH_FORMATS = ("wav", "pcm", "mp3", "opus")
REFERENCE_ID = re.compile(r"^[A-Za-z0-9_\- ]{1,255}$")


@extend_schema_field(OpenApiTypes.BYTE)
class AudioBytesField(serializers.Field):
    """Raw bytes (msgpack) or a base64 string (JSON)."""

    def to_internal_value(self, data):
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        if isinstance(data, str):
            try:
                return base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError) as e:
                raise serializers.ValidationError("must be bytes or valid base64") from e
        raise serializers.ValidationError("must be bytes or a base64 string")

    def to_representation(self, value):
        return base64.b64encode(value).decode()


class ReferenceAudioSerializer(serializers.Serializer):
    audio = AudioBytesField()
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)


class TTSRequestSerializer(RateField):
    """Fish Speech's ServeTTSRequest (and `sample_rate`, an extension)."""

    text = serializers.CharField(trim_whitespace=False)
    chunk_length = serializers.IntegerField(default=200, min_value=100, max_value=300)
    format = serializers.ChoiceField(FISH_FORMATS, default="wav")
    references = ReferenceAudioSerializer(many=True, required=False, default=list)
    reference_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)
    seed = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    use_memory_cache = serializers.ChoiceField(("on", "off"), default="off")
    normalize = serializers.BooleanField(default=True)
    streaming = serializers.BooleanField(default=False)
    max_new_tokens = serializers.IntegerField(default=1024, min_value=0)
    top_p = serializers.FloatField(default=0.8, min_value=0.1, max_value=1.0)
    repetition_penalty = serializers.FloatField(default=1.1, min_value=0.9, max_value=2.0)
    temperature = serializers.FloatField(default=0.8, min_value=0.1, max_value=1.0)


def window_for(chunk_length: int) -> int:
    """chunk_length counts characters; segments count words or Han characters (about 5 to 1)."""
    return max(20, chunk_length // 5)


async def build_request(data: dict, text_limit: int | None = None) -> SynthesisRequest:
    """The shared request for a validated ServeTTSRequest: reference_id wins over references."""
    text = services.check_text(data["text"], limit=text_limit)
    references = data.get("references") or []
    if data.get("reference_id"):
        voice = await voice_services.aresolve_voice(data["reference_id"], text=text)
    elif references:
        # The first reference is the voice; every one is checked like any reference audio.
        cached = data["use_memory_cache"] == "on"
        voice = await cloned_voice(references[0]["audio"], "references[0].audio", cached=cached,
                                   text=references[0].get("text", ""))
        for i, ref in enumerate(references[1:], start=1):
            await prepare_reference(ref["audio"], f"references[{i}].audio", cached=cached)
    else:
        voice = voice_services.to_ref(await sync_to_async(voice_services.default_voice)(text))
    window = window_for(data["chunk_length"])
    rate = output_sample_rate(settings.TTS_FISH_SAMPLE_RATE, data["format"], data.get("streaming", False),
                              data.get("sample_rate"))
    return SynthesisRequest(
        turns=[Turn(voice, text)], sampling=sampling_params(data), length_threshold=window, window_size=window,
        normalize=data["normalize"], sample_rate=rate, dialect="fish")


class FishView(DialectView):
    parser_classes = [ObjectJSONParser, MsgpackParser, XMsgpackParser, MultiPartParser, FormParser]
    renderer_classes = [BytesJSONRenderer, MsgpackRenderer]
    content_negotiation_class = FormatOrAccept

    validation_status = 400


class TTSView(FishView):
    async def post(self, request):
        data = self.validated(TTSRequestSerializer, request)
        fmt = data["format"]
        return await speech_response(request, await build_request(data), fmt, data["streaming"],
                                     {"Content-Disposition": f"attachment; filename=audio.{fmt}"},
                                     content_type="application/octet-stream" if fmt == "pcm" else None)


class AddReferenceView(FishView):
    async def post(self, request):
        ref_id = str(request.data.get("id", "")).strip()
        text = request.data.get("text")
        upload = request.data.get("audio")
        if not REFERENCE_ID.match(ref_id):
            raise InvalidInput("id must be 1-255 letters, digits, '-', '_' or spaces", field="id")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("audio must be an uploaded file", field="audio")
        if text is None:
            raise InvalidInput("text is required", field="text")
        await refuse_existing_voice(ref_id, "Reference voice")
        raw = await reference_bytes(None, upload, "audio", "audio")
        await save_voice_from_audio(ref_id, raw, "audio", str(text), request)
        return Response({"success": True, "message": f"Reference voice '{ref_id}' added successfully",
                         "reference_id": ref_id})


class ListReferencesView(FishView):
    async def get(self, request):
        ids = await sync_to_async(voice_services.role_names)()
        return Response({"success": True, "reference_ids": ids, "message": f"Found {len(ids)} reference voices"})


class DeleteReferenceView(FishView):
    async def delete(self, request):
        ref_id = str(request.data.get("reference_id", "")).strip()
        if not ref_id:
            raise InvalidInput("reference_id is required", field="reference_id")
        await sync_to_async(voice_services.delete_voice)(ref_id, "reference_id", "Reference voice")
        return Response({"success": True, "message": f"Reference voice '{ref_id}' deleted successfully",
                         "reference_id": ref_id})


class UpdateReferenceView(FishView):
    async def post(self, request):
        old = str(request.data.get("old_reference_id", "")).strip()
        new = str(request.data.get("new_reference_id", "")).strip()
        if not old:
            raise InvalidInput("old_reference_id is required", field="old_reference_id")
        if not REFERENCE_ID.match(new):
            raise InvalidInput("new_reference_id must be 1-255 letters, digits, '-', '_' or spaces",
                               field="new_reference_id")
        await sync_to_async(voice_services.rename_voice)(old, new)
        return Response({"success": True,
                         "message": f"Reference voice renamed from '{old}' to '{new}' successfully",
                         "old_reference_id": old, "new_reference_id": new})


def codec_engine():
    """A loaded engine with the codec capability, or a 501 naming what is loaded."""
    engine = services.engine_with(CAP_CODEC)
    if engine is None:
        raise NotImplementedByEngine(
            f"No codec model is loaded: the active engines ({', '.join(settings.TTS_ENGINES)}) have no "
            "VQGAN codec, so /v1/vqgan/encode and /v1/vqgan/decode are unavailable")
    return engine


class VQGANEncodeView(FishView):
    async def post(self, request):
        engine = await sync_to_async(codec_engine, thread_sensitive=False)()
        audios = request.data.get("audios")
        if not isinstance(audios, list) or not audios:
            raise InvalidInput("audios must be a non-empty list of audio bytes", field="audios")
        tokens = []
        for i, audio in enumerate(audios):
            raw = AudioBytesField().run_validation(audio)
            prepared = await prepare_reference(raw, f"audios[{i}]")
            tokens.append(await sync_to_async(engine.encode_audio, thread_sensitive=False)(
                prepared.samples, prepared.sample_rate))
        return Response({"tokens": tokens})


class VQGANDecodeView(FishView):
    async def post(self, request):
        engine = await sync_to_async(codec_engine, thread_sensitive=False)()
        tokens = request.data.get("tokens")
        if not isinstance(tokens, list) or not tokens:
            raise InvalidInput("tokens must be a non-empty list of token arrays", field="tokens")
        audios = []
        for item in tokens:
            samples = await sync_to_async(engine.decode_tokens, thread_sensitive=False)(item)
            audios.append(samples.astype("<f2").tobytes())  # PCM float16, as the spec says
        return Response({"audios": audios})

