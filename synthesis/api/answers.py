"""The audio answer to a synthesis request over HTTP: from the output cache, from an identical
synthesis under way in this process, or a new synthesis (see synthesis/audio_cache.py)."""
from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpResponse, StreamingHttpResponse

from .. import audio_cache, services
from ..audio.encoders import output_rate
from ..streaming import ResponseStream, SharedAnswer
from ..types import SynthesisRequest
from .common import audio_response

CACHED_FOR = "private, max-age=86400"
PIECE = 32 * 1024  # bytes a cached answer is streamed in


def bypasses_cache(http_request) -> bool:
    """A client asks for fresh audio with `Cache-Control: no-cache` (or no-store), or `?cache=false`."""
    directives = http_request.headers.get("Cache-Control", "").lower()
    return ("no-cache" in directives or "no-store" in directives
            or http_request.GET.get("cache", "").lower() in ("0", "false", "no"))


async def speech_response(http_request, request: SynthesisRequest, fmt: str, stream: bool,
                          headers: dict | None = None, content_type: str | None = None) -> HttpResponse:
    """The answer to `request` in `fmt`, streamed when `stream`."""
    await services.acheck_request(request)
    key = None if bypasses_cache(http_request) else \
        await sync_to_async(audio_cache.key_for, thread_sensitive=False)(request, fmt, stream)
    if key is None:
        return await audio_response(await services.asubmit(request), fmt, stream, headers, content_type)
    content_type = content_type or services.content_type(fmt)
    hit = await sync_to_async(audio_cache.lookup)(key)
    if hit is not None:
        data, rate = hit
        return _answer(data, "HIT", key, fmt, rate, stream, headers, content_type)
    answer = SharedAnswer.being_made(key)
    state = "SHARED"
    if answer is None:
        job = await services.asubmit(request)
        answer = SharedAnswer(key, job, fmt, stream,
                              store=lambda data: audio_cache.store(key, data, fmt, job.sample_rate))
        state = "MISS"
    answer.join()
    try:
        body = await answer.whole() if not stream else await answer.first_part()
    except BaseException:
        answer.leave()
        raise
    if not stream:
        answer.leave()
        return _answer(body, state, key, fmt, answer.job.sample_rate, False, headers, content_type)
    response = StreamingHttpResponse(ResponseStream(answer.read, answer.leave), content_type=content_type,
                                     headers=_headers(state, key, fmt, answer.job.sample_rate, headers))
    response["X-Accel-Buffering"] = "no"
    return response


def _headers(state: str, key: str, fmt: str, rate: int, extra: dict | None) -> dict:
    return {"Cache-Control": CACHED_FOR, "ETag": f'"{key}"', "X-Cache": state,
            "X-Sample-Rate": str(output_rate(fmt, rate)), **(extra or {})}


def _answer(data: bytes, state: str, key: str, fmt: str, rate: int, stream: bool, headers: dict | None,
            content_type: str) -> HttpResponse:
    headers = _headers(state, key, fmt, rate, headers)
    if not stream:
        return HttpResponse(data, content_type=content_type, headers=headers)

    async def pieces():
        for start in range(0, len(data), PIECE):
            yield data[start:start + PIECE]
    response = StreamingHttpResponse(pieces(), content_type=content_type, headers=headers)
    response["X-Accel-Buffering"] = "no"
    return response
