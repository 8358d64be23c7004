"""The output cache: an identical request is answered with the audio encoded the first time.

The address of an answer is a hash of everything that decides its bytes: each turn's text after
normalization, its voice (engine, voice id, language, and a hash of a cloned voice's latent, so
a re-analysed voice gets new entries), speed, pitch, volume, sampling, segmentation, output rate,
format and whether it was encoded for streaming. Engines that sample get cached only with a seed
and only when the seed makes them repeatable (CAP_SEEDED).

Files live in Django's storage (local media or S3), the index in the database, so every web
process and worker shares it; the total size is bounded, least recently used answers go first.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection
from django.db.models import F, Sum
from django.utils import timezone

from .engines.base import CAP_SAMPLING, CAP_SEEDED
from .engines.registry import engine_class
from .models import CachedAudio
from .text import normalize
from .text.language import detect
from .types import SynthesisRequest

logger = logging.getLogger(__name__)
VERSION = 1  # bump when the engines or the encoders change what the same request sounds like


def repeatable(request: SynthesisRequest) -> bool:
    """Whether the same request gives the same audio: no engine samples, or a seed fixes it."""
    for turn in request.turns:
        capabilities = engine_class(turn.voice.engine).capabilities
        if CAP_SAMPLING in capabilities and (request.sampling.seed is None or CAP_SEEDED not in capabilities):
            return False
    return True


def sampling_that_matters(request: SynthesisRequest) -> dict:
    """The sampling fields the request's engines act on (a seed also picks Piper's noise-free rendering)."""
    capabilities = set().union(*(engine_class(t.voice.engine).capabilities for t in request.turns))
    if CAP_SAMPLING in capabilities:
        return asdict(request.sampling)
    return {"seed": request.sampling.seed} if CAP_SEEDED in capabilities else {}


def key_for(request: SynthesisRequest, fmt: str, streaming: bool) -> str | None:
    """The content address of a request's encoded answer; None when it must not be cached."""
    if settings.TTS_AUDIO_CACHE_BYTES <= 0 or not repeatable(request):
        return None
    turns = []
    for turn in request.turns:
        voice = asdict(turn.voice)
        voice["latent"] = hashlib.sha256(voice["latent"].encode()).hexdigest() if voice["latent"] else ""
        prior = turn.voice.language or detect(turn.text)
        turns.append([voice, normalize(turn.text, prior) if request.normalize else turn.text])
    described = {"v": VERSION, "turns": turns, "speed": request.speed, "pitch": request.pitch,
                 "volume": request.volume, "sampling": sampling_that_matters(request),
                 "segmentation": [request.length_threshold, request.window_size],
                 "rate": request.sample_rate or engine_class(request.turns[0].voice.engine).sample_rate,
                 "fmt": fmt, "streaming": streaming}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def lookup(key: str) -> tuple[bytes, int] | None:
    """(encoded audio, sample rate) stored under `key`, counted as used; None on a miss."""
    entry = CachedAudio.objects.filter(key=key).first()
    if entry is None:
        return None
    try:
        with entry.file.open("rb") as stored:
            data = stored.read()
    except OSError:  # the file went (storage cleaned by hand): the index follows
        logger.warning("cached audio %s is missing from storage; dropping its entry", key)
        entry.delete()
        return None
    CachedAudio.objects.filter(key=key).update(hits=F("hits") + 1, last_used_at=timezone.now())
    return data, entry.sample_rate


def store(key: str, data: bytes, fmt: str, sample_rate: int) -> None:
    """Keep an answer under `key` (another process may have stored it first), then evict to the bound.

    Runs outside any request (the answer may outlive the one that started it), so it closes its
    own database connection.
    """
    try:
        _store(key, data, fmt, sample_rate)
    finally:
        connection.close()


def _store(key: str, data: bytes, fmt: str, sample_rate: int) -> None:
    if not data or len(data) > settings.TTS_AUDIO_CACHE_BYTES or CachedAudio.objects.filter(key=key).exists():
        return
    name = default_storage.save(f"cache/audio/{key[:2]}/{key}.{fmt}", ContentFile(data))
    try:
        CachedAudio.objects.create(key=key, file=name, fmt=fmt, sample_rate=sample_rate, size=len(data),
                                   last_used_at=timezone.now())
    except IntegrityError:  # stored by another process meanwhile: keep theirs
        default_storage.delete(name)
        return
    evict(settings.TTS_AUDIO_CACHE_BYTES)


def evict(limit: int) -> int:
    """Delete least recently used answers until the cache holds at most `limit` bytes; how many went."""
    total = CachedAudio.objects.aggregate(total=Sum("size"))["total"] or 0
    removed = 0
    for entry in CachedAudio.objects.order_by("last_used_at").iterator():
        if total <= limit:
            break
        # the row goes first: a reader never finds an entry whose file is gone
        if CachedAudio.objects.filter(key=entry.key).delete()[0]:
            default_storage.delete(entry.file.name)
            total -= entry.size
            removed += 1
    return removed


def clear() -> int:
    """Empty the cache (e.g. after replacing an engine's weights); how many answers went."""
    return evict(0)
