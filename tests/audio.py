"""Decode what the server returns, to check format, rate and duration."""
from __future__ import annotations

import io

import av
import numpy as np


def decode(data: bytes, fmt: str = "", pcm_rate: int = 0) -> tuple[np.ndarray, int]:
    """(float32 mono samples, sample rate) of encoded audio."""
    if fmt == "pcm":
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0, pcm_rate
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        parts, rate = [], stream.rate
        for frame in container.decode(stream):
            parts.append(frame.to_ndarray().astype(np.float32).mean(axis=0)
                         if frame.format.is_planar else frame.to_ndarray().astype(np.float32).reshape(-1))
            rate = frame.sample_rate
    samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if samples.dtype != np.float32 or np.abs(samples).max(initial=0) > 2:
        samples = samples / 32768.0
    return samples, rate


def duration(data: bytes, fmt: str = "", pcm_rate: int = 0) -> float:
    samples, rate = decode(data, fmt, pcm_rate)
    return len(samples) / rate


def tone_wav(seconds: float = 2.0, rate: int = 16000, freq: float = 180.0, amplitude: float = 0.3) -> bytes:
    """A voiced-like test recording: a harmonic tone with a slow tremolo."""
    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    signal = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    signal = amplitude * signal / np.abs(signal).max() * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    buf = io.BytesIO()
    sf.write(buf, signal.astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def chunks_of(response) -> list[bytes]:
    """The body parts of a test-client response, streamed or not."""
    import asyncio

    if not response.streaming:
        return [response.content]
    content = response.streaming_content
    if hasattr(content, "__aiter__"):
        async def drain():
            return [bytes(part) async for part in content]

        return asyncio.run(drain())
    return [bytes(part) for part in content]


def body_of(response) -> bytes:
    return b"".join(chunks_of(response))
