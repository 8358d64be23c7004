"""Reference audio intake shared by every dialect: base64, URL or upload -> prepared WAV.

Decoding goes through PyAV (wav, mp3, flac, ogg/opus, m4a/aac, webm), then the audio is
downmixed, resampled, trimmed of leading/trailing silence, loudness-normalized and
capped in length. URLs are fetched safely: http(s) only, every address checked.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import threading
from collections import OrderedDict
import re
from dataclasses import dataclass

import numpy as np

from .audio import effects
from .audio.encoders import to_pcm16, wav_header
from .errors import InvalidInput, PayloadTooLarge

REFERENCE_RATE = 24000
MIN_SPEECH_SECONDS = 1.0
_SILENCE_DB = -45.0
_B64 = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")


@dataclass(frozen=True)
class IntakeLimits:
    max_bytes: int = 50 * 1024 * 1024
    max_seconds: float = 30.0
    url_timeout: float = 10.0
    url_allowlist: tuple[str, ...] = ()


@dataclass
class PreparedReference:
    samples: np.ndarray  # float32 mono at REFERENCE_RATE, trimmed, normalized, limited
    sample_rate: int = REFERENCE_RATE
    # The recording as decoded, for codec engines that follow their reference implementation's own
    # intake: its first channel at its own rate (at most RECORDED_MAX_RATE), not trimmed or
    # normalized, capped at the intake's length limit. It passed the same checks as `samples`.
    recorded: np.ndarray | None = None
    recorded_rate: int = 0

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def wav_bytes(self) -> bytes:
        pcm = to_pcm16(self.samples)
        return wav_header(self.sample_rate, len(pcm)) + pcm


def looks_like_url(value: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value.strip()))


def decode_base64(value: str, field: str, limits: IntakeLimits) -> bytes:
    value = value.strip()
    if value.startswith("data:"):
        value = value.split(",", 1)[-1]
    if len(value) * 3 // 4 > limits.max_bytes:
        raise PayloadTooLarge(f"{field} is larger than {limits.max_bytes} bytes", field=field)
    if not value or not _B64.match(value):
        raise InvalidInput(f"{field} is neither a URL nor valid base64", field=field)
    try:
        compact = re.sub(r"\s+", "", value)
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidInput(f"{field} is not valid base64: {e}", field=field) from e




MIN_RATE, MAX_RATE = 4000, 384000  # what a recording's header may claim
MAX_CHANNELS = 16
TRIM_MARGIN_SECONDS = 10.0  # decoded beyond the cap, so leading silence can be trimmed
RECORDED_MAX_RATE = 48000  # the recording as decoded is kept at its own rate up to this


def decode_audio(data: bytes, field: str = "audio", max_seconds: float = 30.0) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate, from any container PyAV can read."""
    samples, rate, _, _ = decode_recording(data, field, max_seconds)
    return samples, rate


def decode_recording(data: bytes, field: str = "audio",
                     max_seconds: float = 30.0) -> tuple[np.ndarray, int, np.ndarray, int]:
    """(mono samples at REFERENCE_RATE, REFERENCE_RATE, first channel at the recording's own rate
    capped at max_seconds, that rate), decoded once.

    Bounded before and during the work: a header claiming an absurd rate or channel count is
    refused, and decoding stops once max_seconds (plus a margin for trimming) of audio exist, so a
    small file cannot expand into gigabytes.
    """
    import av

    if not data:
        raise InvalidInput(f"{field} is empty", field=field)
    keep = int((max_seconds + TRIM_MARGIN_SECONDS) * REFERENCE_RATE)
    parts, kept, recorded = [], 0, []
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise InvalidInput(f"{field} holds no audio stream", field=field)
            stream = container.streams.audio[0]
            if stream.codec_context is None:  # a codec FFmpeg has no decoder for (e.g. a made-up WAV format tag)
                raise InvalidInput(f"{field} is not decodable audio: no decoder for its codec", field=field)
            _check_header(stream, field)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=REFERENCE_RATE)
            recorded_rate = min(stream.codec_context.sample_rate or stream.rate, RECORDED_MAX_RATE)
            # planar float at one fixed rate and layout: the first channel is row 0 (what Spark-TTS's
            # reference code keeps of a multichannel file)
            as_recorded = av.AudioResampler(format="fltp", layout=stream.codec_context.layout.name,
                                            rate=recorded_rate)
            for frame in container.decode(stream):
                if not MIN_RATE <= (frame.sample_rate or 0) <= MAX_RATE:
                    raise InvalidInput(f"{field}: a sample rate of {frame.sample_rate} Hz is not a recording",
                                       field=field)
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1))
                    kept += parts[-1].size
                recorded.extend(out.to_ndarray()[0] for out in as_recorded.resample(frame))
                if kept >= keep:
                    break
            else:
                for out in resampler.resample(None):
                    parts.append(out.to_ndarray().reshape(-1))
                recorded.extend(out.to_ndarray()[0] for out in as_recorded.resample(None))
    except InvalidInput:
        raise
    except (av.FFmpegError, ValueError, IndexError, MemoryError) as e:
        raise InvalidInput(f"{field} is not decodable audio", field=field) from e
    if not parts:
        raise InvalidInput(f"{field} holds no audio samples", field=field)
    as_decoded = np.concatenate(recorded) if recorded else np.zeros(0, np.float32)
    return (np.concatenate(parts)[:keep].astype(np.float32), REFERENCE_RATE,
            as_decoded[:int(max_seconds * recorded_rate)].astype(np.float32), recorded_rate)


def _check_header(stream, field: str) -> None:
    """Refuse what the container's own header says is no speech recording."""
    rate = stream.codec_context.sample_rate or stream.rate or 0
    channels = stream.codec_context.channels or 0
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidInput(f"{field}: a sample rate of {rate} Hz is not a recording (between {MIN_RATE} and "
                           f"{MAX_RATE} Hz)", field=field)
    if channels > MAX_CHANNELS:
        raise InvalidInput(f"{field}: {channels} channels; at most {MAX_CHANNELS}", field=field)


def _trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    frame = int(rate * 0.02)
    if len(samples) < frame:
        return samples
    n = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.where(20 * np.log10(rms) > _SILENCE_DB)[0]
    if loud.size == 0:
        return samples[:0]
    start, end = max(0, loud[0] - 1) * frame, min(n, loud[-1] + 2) * frame
    return samples[start:end]


def prepare(data: bytes, field: str, limits: IntakeLimits) -> PreparedReference:
    """Decode, downmix, resample, trim, normalize and cap a reference recording."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"{field} is larger than {limits.max_bytes} bytes", field=field)
    samples, rate, recorded, recorded_rate = decode_recording(data, field, limits.max_seconds)
    samples = _trim_silence(samples, rate)
    if samples.size == 0 or float(np.max(np.abs(samples))) < 1e-3:
        raise InvalidInput(f"{field} is silent", field=field)
    speech = _speech_seconds(samples, rate)
    if speech < MIN_SPEECH_SECONDS:
        raise InvalidInput(f"{field} holds {speech:.2f} s of speech; at least {MIN_SPEECH_SECONDS:.0f} s "
                           "is needed", field=field)
    samples = samples[: int(limits.max_seconds * rate)]
    rms = float(np.sqrt(np.mean(samples ** 2)))
    samples = samples * (10 ** (-20 / 20) / max(rms, 1e-6))  # about -20 dBFS RMS
    return PreparedReference(effects.limit(samples.astype(np.float32), rate), rate, recorded, recorded_rate)


def _speech_seconds(samples: np.ndarray, rate: int) -> float:
    frame = int(rate * 0.02)
    n = len(samples) // frame
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    return float(np.sum(20 * np.log10(rms) > _SILENCE_DB)) * 0.02


class PreparedCache:
    """Prepared references keyed by the content hash of the raw bytes; bounded in bytes (LRU)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, PreparedReference] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def get(self, key: str) -> PreparedReference | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item

    @staticmethod
    def size_of(item: PreparedReference) -> int:
        return item.samples.nbytes + (item.recorded.nbytes if item.recorded is not None else 0)

    def put(self, key: str, item: PreparedReference) -> None:
        size = self.size_of(item)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self._size += size
            while self._size > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._size -= self.size_of(old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0
