"""The engine worker: plan a request into segments and render each into audio."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .audio import effects
from .engines.base import CAP_SPEED, CAP_STREAM, Engine, Rendering
from .text import normalize, segment_text
from .text.language import detect
from .text.segment import FIRST_SEGMENT_UNITS
from .types import SynthesisRequest, VoiceRef


@dataclass(frozen=True)
class PlannedSegment:
    voice: VoiceRef
    text: str
    pause_after: float
    language: str = ""  # the segment's main language (base code), detected with the voice's as prior


BUSY_FIRST_SEGMENT = 6  # units; see plan()
BUSY_WINDOW = 24  # units: when busy no segment is longer, so a core frees up soon for a new first segment
# A segment should take at most this share of the playing time of the audio before it to render.
PACING_MARGIN = 0.6
MIN_GROWTH, MAX_GROWTH, DEFAULT_GROWTH = 1.5, 4.0, 2.0
_render_speed: dict[str, float] = {}  # engine -> recent seconds of rendering per second of audio (EWMA)
_speed_lock = threading.Lock()


def observe_render(engine: str, render_seconds: float, audio_seconds: float) -> None:
    """Remember how fast `engine` renders here now (it slows down as more segments share the cores)."""
    if audio_seconds <= 0:
        return
    with _speed_lock:
        previous = _render_speed.get(engine)
        rtf = render_seconds / audio_seconds
        _render_speed[engine] = rtf if previous is None else 0.7 * previous + 0.3 * rtf


def growth_for(engine: str) -> float:
    """How much longer each next segment may be than the one before: a fast engine renders a long
    segment while a short one plays, a slow or busy one needs them to grow slowly."""
    rtf = _render_speed.get(engine)
    if rtf is None:
        return DEFAULT_GROWTH
    return min(MAX_GROWTH, max(MIN_GROWTH, PACING_MARGIN / max(rtf, 1e-3)))


def plan(request: SynthesisRequest, busy: bool = False) -> list[PlannedSegment]:
    """Normalize and split every turn; the first segment of the request is short.

    When the dispatcher is busy, the first segment is shorter still: it waits behind other
    requests' first segments, so its own synthesis time is what the listener waits for. Later
    segments are kept short too: a segment cannot be interrupted, so a long one would hold its core
    while new requests wait for their first audio.
    """
    planned = []
    for turn in request.turns:
        prior = turn.voice.language or detect(turn.text)
        text = normalize(turn.text, prior) if request.normalize else turn.text
        first = BUSY_FIRST_SEGMENT if busy and not planned else FIRST_SEGMENT_UNITS
        window = min(request.window_size, BUSY_WINDOW) if busy else request.window_size
        for seg in segment_text(text, request.length_threshold, window, first_segment=first,
                                growth=growth_for(turn.voice.engine)):
            planned.append(PlannedSegment(turn.voice, seg.text, seg.pause_after, detect(seg.text, prior)))
    return planned


def output_rate(request: SynthesisRequest, engine_loader) -> int:
    if request.sample_rate:
        return request.sample_rate
    return engine_loader(request.turns[0].voice.engine).sample_rate


def render_pieces(segment: PlannedSegment, request: SynthesisRequest, rate: int,
                  engine_loader) -> Iterator[tuple[np.ndarray, bool]]:
    """(audio, segment_end) pieces of one segment at `rate`, as the engine produces them.

    Engines that stream within a segment (CAP_STREAM) give several pieces (resampled as a stream
    where the output rate differs), the last of them the pause; the others give the whole segment
    once. Pitch shifting works on whole segments, so with it a streaming engine's pieces are joined
    first.
    """
    with Rendering.segment():
        yield from _render(segment, request, rate, engine_loader)


def _render(segment: PlannedSegment, request: SynthesisRequest, rate: int,
            engine_loader) -> Iterator[tuple[np.ndarray, bool]]:
    engine: Engine = engine_loader(segment.voice.engine)
    started = time.monotonic()
    factor = effects.pitch_factor(request.pitch) if request.pitch else 1.0
    # Pitch is shifted by resampling, which also shortens the audio by `factor`;
    # asking the engine for speech slower by that factor keeps the duration.
    engine_speed = request.speed / factor if engine.has(CAP_SPEED) else 1.0
    extra = {"latent": segment.voice.latent} if segment.voice.latent else {}
    pieces = engine.stream(segment.text, segment.voice.voice_id, language=segment.language,
                           speed=engine_speed, sampling=request.sampling, **extra)
    try:
        if engine.has(CAP_STREAM) and not request.pitch:
            resampler = effects.StreamResampler(engine.sample_rate, rate)
            for audio in pieces:
                out = resampler.feed(_finish(audio, request, engine.sample_rate)) if len(audio) else audio
                if len(out):
                    yield out, False
            yield np.concatenate([resampler.flush(), effects.silence(segment.pause_after, rate)]), True
            return
        audio = np.concatenate(list(pieces))
        observe_render(engine.name, time.monotonic() - started, len(audio) / engine.sample_rate)
    finally:
        pieces.close()
    audio = _finish(effects.shift_pitch(audio, request.pitch), request, engine.sample_rate)
    audio = np.concatenate([audio, effects.silence(segment.pause_after, engine.sample_rate)])
    yield effects.resample(audio, engine.sample_rate, rate), True


def _finish(audio: np.ndarray, request: SynthesisRequest, sample_rate: int) -> np.ndarray:
    if request.volume != 1.0:
        audio = audio * request.volume
    return effects.limit(audio, sample_rate)
