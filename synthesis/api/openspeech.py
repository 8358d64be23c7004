"""OpenSpeech-style session streaming (seed 004): /api/tts/stream, /api/tts/interrupt."""
from __future__ import annotations

import uuid

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from rest_framework import serializers
from rest_framework.response import Response

from voices import services as voice_services

from .. import services
from ..audio.encoders import output_rate
from ..errors import InvalidInput, NotFound, VoiceNotFound
from ..sessions import sessions
from ..streaming import ResponseStream, encoded_stream, first_audio
from ..types import SynthesisRequest, Turn
from .common import DialectView


class StreamSerializer(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False)
    session_id = serializers.CharField(required=False, max_length=255)
    voice_type = serializers.CharField(required=False, max_length=255)


async def resolve_voice_type(voice_type: str | None, text: str):
    """voice_type names a catalog voice; unknown ids (the hosted service's) get the default voice
    of the text's language."""
    if voice_type:
        try:
            return await voice_services.aresolve_voice(voice_type, text=text)
        except VoiceNotFound:
            pass
    return voice_services.to_ref(await sync_to_async(voice_services.default_voice)(text))


async def session_stream(job, session_id: str, token: str, fmt: str = "mp3") -> ResponseStream:
    """Encoded audio, started once its first audio exists, until the job ends or the session is taken
    over (interrupt, or a new stream with the same session_id); always a clean ending."""
    def end():
        job.cancel()
        sessions.end(session_id, token)

    try:
        await first_audio(job)
    except BaseException:
        await sync_to_async(end, thread_sensitive=False)()
        raise

    async def chunks():
        async for data in encoded_stream(job, fmt):
            yield data
            if not await sync_to_async(sessions.is_current, thread_sensitive=False)(session_id, token):
                job.cancel()  # the encoder still finishes: what was sent decodes

    return ResponseStream(chunks, end)


class StreamView(DialectView):
    async def post(self, request):
        data = self.validated(StreamSerializer, request)
        text = services.check_text(data["text"])
        voice = await resolve_voice_type(data.get("voice_type"), text)
        session_id = data.get("session_id") or uuid.uuid4().hex
        job = await services.astart_synthesis(SynthesisRequest([Turn(voice, text)], dialect="openspeech"))
        token = await services.completed_or_undone(
            sync_to_async(sessions.start, thread_sensitive=False)(session_id, job),
            lambda token: (job.cancel(), sessions.end(session_id, token)))
        return StreamingHttpResponse(await session_stream(job, session_id, token), content_type="audio/mpeg",
                                     headers={"X-Session-Id": session_id, "Cache-Control": "no-store",
                                              "X-Sample-Rate": str(output_rate("mp3", job.sample_rate))})


class InterruptView(DialectView):
    async def post(self, request):
        session_id = str(request.data.get("session_id", "")).strip()
        if not session_id:
            raise InvalidInput("session_id is required: the X-Session-Id of the stream to interrupt",
                               field="session_id")
        if not await sync_to_async(sessions.interrupt, thread_sensitive=False)(session_id):
            raise NotFound(f"session {session_id!r} not found", field="session_id")
        return Response({"ok": True})

