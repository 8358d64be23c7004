"""Streaming encoders: float32 PCM chunks in, container bytes out.

Every encoder yields bytes that decode from the first byte on: a streamed WAV
carries a header with an open-ended size, compressed formats are written by
PyAV's muxers into a sink that hands back whatever the muxer has produced.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

FORMATS = ("wav", "pcm", "mp3", "opus", "aac", "flac")

CONTENT_TYPES = {
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
}

# (container format, codec, sample rates the codec accepts or None for any)
_AV_SPECS = {
    "mp3": ("mp3", "libmp3lame", (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)),
    "opus": ("ogg", "libopus", (48000,)),  # Opus decoders always give 48 kHz
    "aac": ("adts", "aac", None),
    "flac": ("flac", "flac", None),
}


def output_rate(fmt: str, sample_rate: int) -> int:
    """The sample rate a format is encoded at from `sample_rate` input (codecs with fixed rates resample)."""
    rates = _AV_SPECS[fmt][2] if fmt in _AV_SPECS else None
    if rates and sample_rate not in rates:
        return min((r for r in rates if r >= sample_rate), default=rates[-1])
    return sample_rate


class UnsupportedFormat(ValueError):
    pass


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float32 [-1, 1] samples as little-endian signed 16-bit bytes."""
    clipped = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


def wav_header(sample_rate: int, data_bytes: int | None) -> bytes:
    """A 44-byte PCM WAV header; data_bytes None means 'unknown, streamed'."""
    size = 0xFFFFFFFF - 36 if data_bytes is None else data_bytes
    riff_size = min(0xFFFFFFFF, 36 + size)
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + b"fmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16
    ) + b"data" + struct.pack("<I", size)


class _Sink(io.RawIOBase):
    """Write-only file object that keeps what the muxer wrote until taken."""

    def __init__(self):
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


@dataclass
class Encoder:
    """Base encoder: feed float32 mono samples, get bytes; finish once."""

    fmt: str
    sample_rate: int
    streaming: bool = True

    def __post_init__(self):
        pass

    def feed(self, samples: np.ndarray) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        raise NotImplementedError

    @property
    def output_rate(self) -> int:
        return self.sample_rate


class PcmEncoder(Encoder):
    def feed(self, samples):
        return to_pcm16(samples)

    def finish(self):
        return b""


class WavEncoder(Encoder):
    """Streams with an open-ended header; buffers to write exact sizes otherwise."""

    def __post_init__(self):
        self._started = False
        self._buffer: list[bytes] = []

    def feed(self, samples):
        pcm = to_pcm16(samples)
        if not self.streaming:
            self._buffer.append(pcm)
            return b""
        if not self._started:
            self._started = True
            return wav_header(self.sample_rate, None) + pcm
        return pcm

    def finish(self):
        if self.streaming:
            return b"" if self._started else wav_header(self.sample_rate, None)
        data = b"".join(self._buffer)
        return wav_header(self.sample_rate, len(data)) + data


class AvEncoder(Encoder):
    """mp3 / opus / aac / flac through PyAV, resampling where the codec needs it."""

    def __post_init__(self):
        import av

        container_fmt, codec, _rates = _AV_SPECS[self.fmt]
        self._rate = output_rate(self.fmt, self.sample_rate)
        self._sink = _Sink()
        # Ogg holds a page back for up to a second by default; short pages let
        # each chunk leave as soon as it is encoded.
        options = {"page_duration": "20000"} if container_fmt == "ogg" else {}
        self._container = av.open(self._sink, mode="w", format=container_fmt, options=options)
        self._stream = self._container.add_stream(codec, rate=self._rate, layout="mono")
        if self.fmt == "mp3":
            self._stream.bit_rate = 64000
        elif self.fmt in ("opus", "aac"):
            self._stream.bit_rate = 48000 if self.fmt == "opus" else 64000
        self._resampler = av.AudioResampler(
            format=self._stream.codec_context.format.name, layout="mono", rate=self._rate
        )
        self._pts = 0

    @property
    def output_rate(self) -> int:
        return self._rate

    def _frames(self, samples: np.ndarray | None):
        import av

        if samples is None:
            yield from self._resampler.resample(None)
            return
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        self._pts += len(samples)
        yield from self._resampler.resample(frame)

    def _encode(self, samples: np.ndarray | None) -> bytes:
        for frame in self._frames(samples):
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        return self._sink.take()

    def feed(self, samples):
        if len(samples) == 0:
            return b""
        return self._encode(samples)

    def finish(self):
        data = self._encode(None)
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return data + self._sink.take()


def make_encoder(fmt: str, sample_rate: int, streaming: bool = True) -> Encoder:
    """Encoder for one of FORMATS at the given input sample rate."""
    if fmt == "pcm":
        return PcmEncoder(fmt, sample_rate, streaming)
    if fmt == "wav":
        return WavEncoder(fmt, sample_rate, streaming)
    if fmt in _AV_SPECS:
        return AvEncoder(fmt, sample_rate, streaming)
    raise UnsupportedFormat(f"response_format must be one of {', '.join(FORMATS)}")


def encode_all(fmt: str, sample_rate: int, chunks: Iterable[np.ndarray], streaming: bool = False) -> Iterator[bytes]:
    """The encoded bytes of float32 chunks, piece by piece, the encoder's tail last."""
    encoder = make_encoder(fmt, sample_rate, streaming)
    for samples in chunks:
        data = encoder.feed(samples)
        if data:
            yield data
    tail = encoder.finish()
    if tail:
        yield tail
