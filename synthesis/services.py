"""Synthesis services: engines from settings, the dispatcher, encoding of jobs."""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import unicodedata
from pathlib import Path

from django.conf import settings

from . import reference
from .audio.encoders import CONTENT_TYPES
from .dispatch import Dispatcher, Job, LocalDispatcher
from .engines import registry
from .engines.base import Engine, EngineError, EngineOptions
from .errors import EngineUnavailable, InvalidField, InvalidInput, Overloaded, TextTooLong
from .types import SynthesisRequest

logger = logging.getLogger(__name__)
_dispatcher: Dispatcher | None = None
_dispatcher_lock = threading.Lock()


def engine_options(name: str) -> EngineOptions:
    extra = dict(settings.TTS_ENGINE_OPTIONS.get(name, {}))
    extra.setdefault("speaker_cache", str(Path(settings.TTS_CACHE_DIR) / "speaker"))
    threads = settings.TTS_ORT_THREADS or max(1, (os.cpu_count() or 1) // settings.TTS_WORKERS)
    # TTS_ORT_THREADS=0: a lone segment may use every core, concurrent ones their share each
    return EngineOptions(intra_op_threads=threads, adaptive_threads=not settings.TTS_ORT_THREADS,
                         voices_dir=extra.pop("voices_dir", ""), cache_dir=extra.pop("cache_dir", ""),
                         model_path=extra.pop("model_path", ""), extra=extra)


def load_engine(name: str) -> Engine:
    """The loaded engine `name` with the configured options."""
    if name not in settings.TTS_ENGINES:
        raise EngineUnavailable(f"engine {name!r} is not enabled (TTS_ENGINES={','.join(settings.TTS_ENGINES)})")
    try:
        return registry.get_engine(name, engine_options(name))
    except EngineError as e:
        raise EngineUnavailable(str(e)) from e


def load_engines() -> dict[str, Engine]:
    """Load every configured engine now (server start), failing loudly."""
    return {name: load_engine(name) for name in settings.TTS_ENGINES}


WORKER_PROCESS = False  # set in Celery workers: they synthesize in-process
_worker_redis = None


def worker_redis():
    global _worker_redis
    if _worker_redis is None:
        from .redis_clients import WORKER_TIMEOUT, redis_client

        _worker_redis = redis_client(settings.REDIS_URL, WORKER_TIMEOUT)
    return _worker_redis


def get_dispatcher() -> Dispatcher:
    """Celery workers over Redis when REDIS_URL is set (web processes only relay), else threads here."""
    global _dispatcher
    if _dispatcher is None:
        with _dispatcher_lock:
            if _dispatcher is None and settings.REDIS_URL and not WORKER_PROCESS:
                from .dispatch.redis_streams import CeleryDispatcher
                from .tasks import send_segment

                _dispatcher = CeleryDispatcher(settings.REDIS_URL, send_segment, registry.engine_class,
                                               max_ahead=settings.TTS_MAX_AHEAD,
                                               queue_timeout=settings.TTS_QUEUE_TIMEOUT,
                                               reader_timeout=settings.TTS_READER_TIMEOUT)
            elif _dispatcher is None:
                _dispatcher = LocalDispatcher(load_engine, workers=settings.TTS_WORKERS,
                                              max_ahead=settings.TTS_MAX_AHEAD,
                                              reader_timeout=settings.TTS_READER_TIMEOUT)
            from .metrics import bind_dispatcher

            bind_dispatcher(lambda: _dispatcher.stats() if _dispatcher else {})
    return _dispatcher


def set_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Replace the dispatcher (tests, alternative dispatch modes)."""
    global _dispatcher
    with _dispatcher_lock:
        if _dispatcher is not None and _dispatcher is not dispatcher:
            _dispatcher.shutdown()
        _dispatcher = dispatcher


def engine_with(capability: str, preferred=()) -> Engine | None:
    """The first enabled engine with `capability` (its class says; only that one is loaded), trying
    the `preferred` names first; None when no enabled engine has it."""
    for name in dict.fromkeys([*preferred, *settings.TTS_ENGINES]):
        if name in settings.TTS_ENGINES and capability in registry.engine_class(name).capabilities:
            return load_engine(name)
    return None


def clone_engine(preferred: str | None = None) -> Engine:
    """The engine that speaks cloned voices: `preferred` if it can, else TTS_CLONE_ENGINE, else the first that can."""
    from .engines.base import CAP_CLONE

    engine = engine_with(CAP_CLONE, [n for n in (preferred, settings.TTS_CLONE_ENGINE) if n])
    if engine is None:
        raise EngineUnavailable("no loaded engine can clone voices")
    return engine


latent_cache: dict[tuple[str, str, str], str] = {}


def reference_latent(prepared: reference.PreparedReference, engine: Engine, text: str = "") -> str:
    """Base64 latent of a prepared reference for `engine`, computed once per recording.

    Engines that say so get the recording as decoded instead of the conditioned samples
    (`reference_as_recorded`) and the reference's transcript `text` (`uses_reference_text`).
    """
    text = text if getattr(engine, "uses_reference_text", False) and (text or "").strip() else ""
    key = (reference_cache.key(prepared.samples.tobytes()), engine.name, text)
    latent = latent_cache.get(key)
    if latent is None:
        import base64

        audio = (prepared.samples, prepared.sample_rate)
        if getattr(engine, "reference_as_recorded", False) and prepared.recorded is not None:
            audio = (prepared.recorded, prepared.recorded_rate)
        latent = base64.b64encode(engine.prepare_reference(*audio, **({"text": text} if text else {}))).decode()
        if len(latent_cache) > 512:
            latent_cache.clear()
        latent_cache[key] = latent
    return latent


def check_text(text: str, field: str = "text", limit: int | None = None) -> str:
    """A text of at most `limit` (TTS_MAX_TEXT_LENGTH) characters with something to speak: a letter,
    a digit or a symbol (text of only spaces, punctuation or invisible characters was 0.18 s of
    silence)."""
    limit = limit or settings.TTS_MAX_TEXT_LENGTH
    if not isinstance(text, str) or not text.strip():
        raise InvalidField(f"{field} must not be empty", field=field)
    if len(text) > limit:
        raise TextTooLong(f"{field} is {len(text)} characters; the limit is {limit}", field=field)
    if not any(unicodedata.category(c)[0] in "LNS" for c in text):
        raise InvalidField(f"{field} has nothing to speak: only spaces, punctuation or invisible characters",
                           field=field)
    return text


def check_request(request: SynthesisRequest) -> None:
    """Refuse a request a voice cannot speak (before any work or admission)."""
    from voices.services import check_languages

    check_languages(request.turns)


def start_synthesis(request: SynthesisRequest) -> Job:
    """Admit a request and hand it to the dispatcher; the job yields its audio chunks."""
    check_request(request)
    return submit(request)


def stamp(request: SynthesisRequest) -> SynthesisRequest:
    """The request with the id of the HTTP request or WebSocket message it serves (for the logs)."""
    from .streaming import request_id

    request.request_id = request.request_id or request_id.get()
    return request


def submit(request: SynthesisRequest) -> Job:
    """Admission control and the caller's character quota, then the dispatcher (the request was checked)."""
    from . import usage

    stamp(request)
    dispatcher = get_dispatcher()
    check_capacity(dispatcher, {turn.voice.engine for turn in request.turns})
    characters = charge(request)
    job = dispatcher.submit(request)
    usage.synthesis_started(request, characters, job)
    return job


def charge(request: SynthesisRequest) -> int:
    """Count the request's characters against the caller's characters per day (QuotaExceeded when
    they do not fit); returns the count. The server's own work (no caller) is not charged."""
    from . import keys, quotas

    characters = sum(len(turn.text) for turn in request.turns)
    quotas.charge_characters(keys.current(), characters)
    return characters


def charge_task(request: SynthesisRequest) -> None:
    """An async task's characters are the caller's when it is created (its runner has no caller)."""
    from . import usage

    usage.synthesis_started(request, charge(request), None)


async def astart_synthesis(request: SynthesisRequest) -> Job:
    """start_synthesis off the event loop: the check may read the catalog (Django's thread for the ORM),
    admission and submission do I/O (any thread)."""
    await acheck_request(request)
    return await asubmit(request)


async def acheck_request(request: SynthesisRequest) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(check_request)(stamp(request))


async def asubmit(request: SynthesisRequest) -> Job:
    """submit off the event loop, for a request already checked; a client that leaves meanwhile
    leaves no job behind."""
    from asgiref.sync import sync_to_async

    return await completed_or_undone(sync_to_async(submit, thread_sensitive=False)(request), Job.cancel)


async def completed_or_undone(call, undo):
    """The result of `call` (work in a thread, which a cancelled await does not stop). When the
    caller is cancelled meanwhile (its client left), `undo(result)` runs once the work is done, so
    nothing it made (a job, a session) outlives the request that wanted it."""
    future = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        def settle(done):
            if not done.cancelled() and done.exception() is None:
                undo(done.result())
        future.add_done_callback(settle)
        raise


def overload(dispatcher: Dispatcher | None = None) -> str:
    """Why new work would be refused now ('' when there is room)."""
    stats = (dispatcher or get_dispatcher()).stats()
    if stats.get("active_jobs", 0) >= settings.TTS_MAX_ACTIVE_JOBS:
        return f"{stats['active_jobs']} jobs are running (limit {settings.TTS_MAX_ACTIVE_JOBS})"
    if stats.get("queued_seconds", 0.0) >= settings.TTS_MAX_QUEUED_SECONDS:
        return f"{stats['queued_seconds']:.0f} s of audio are queued (limit {settings.TTS_MAX_QUEUED_SECONDS})"
    return ""


def check_capacity(dispatcher: Dispatcher, engines: set[str] | None = None) -> None:
    """503 now, not after a queue timeout: no worker for an engine the job needs, or past the bounds."""
    missing = dispatcher.unavailable(engines if engines is not None else set(settings.TTS_ENGINES))
    if missing:
        raise EngineUnavailable(f"{missing}; retry when one is", status=503)
    reason = overload(dispatcher)
    if reason:
        raise Overloaded(f"The server is at capacity: {reason}; retry shortly", retry_after=2)


def intake_limits() -> reference.IntakeLimits:
    return reference.IntakeLimits(max_bytes=settings.TTS_MAX_UPLOAD_BYTES,
                                  max_seconds=settings.TTS_MAX_REFERENCE_SECONDS,
                                  url_timeout=settings.TTS_URL_TIMEOUT,
                                  url_allowlist=tuple(settings.TTS_URL_ALLOWLIST))


reference_cache = reference.PreparedCache()


def prepare_reference(data: bytes, field: str, cached: bool = True) -> reference.PreparedReference:
    """Decode and condition reference audio; a repeated reference is analysed once when cached."""
    if not cached:
        return reference.prepare(data, field, intake_limits())
    key = reference_cache.key(data)
    prepared = reference_cache.get(key)
    if prepared is None:
        prepared = reference.prepare(data, field, intake_limits())
        reference_cache.put(key, prepared)
    return prepared


def content_type(fmt: str) -> str:
    return CONTENT_TYPES[fmt]

