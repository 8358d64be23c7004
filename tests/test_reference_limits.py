"""Reference intake is bounded before and during decoding: a lying header or an hour of audio in a
small file cannot expand into gigabytes."""
import io
import struct
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from synthesis.errors import InvalidInput
from synthesis.reference import REFERENCE_RATE, TRIM_MARGIN_SECONDS, IntakeLimits, decode_audio, prepare


def wav_with_header(rate: int, channels: int, payload: bytes, tag: int = 1, bits: int = 16) -> bytes:
    """A WAV whose header claims `rate`, `channels`, format `tag` and `bits` whatever the payload is."""
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * 2, channels * 2, bits)
    return (b"RIFF" + struct.pack("<I", 36 + len(payload)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", len(payload)) + payload)


def test_a_wav_claiming_one_hertz_is_refused_without_expanding_it():
    noise = (np.random.default_rng(0).standard_normal(125_000) * 3000).astype("<i2").tobytes()  # 250 KB
    tracemalloc.start()
    with pytest.raises(InvalidInput, match="1 Hz"):
        decode_audio(wav_with_header(1, 1, noise), "audio")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50 * 1024 * 1024  # at 24 kHz it would have been 6e9 samples (24 GB)


@pytest.mark.parametrize("tag, bits", [(0xBEEF, 16), (1, 0), (3, 16)], ids=["unknown codec", "0 bits", "float 16"])
def test_a_wav_in_a_codec_nothing_decodes_is_refused_as_such(tag, bits):
    """FFmpeg opens these but has no decoder for them (they were 500s on every route taking audio)."""
    speech = (np.sin(np.arange(16000) / 8) * 3000).astype("<i2").tobytes()
    with pytest.raises(InvalidInput, match="not decodable"):
        decode_audio(wav_with_header(16000, 1, speech, tag=tag, bits=bits), "audio")


def test_absurd_channel_counts_are_refused():
    with pytest.raises(InvalidInput, match="channels"):
        decode_audio(wav_with_header(16000, 64, b"\0" * 64 * 2 * 1600), "audio")


def test_an_hour_in_a_small_flac_is_decoded_only_up_to_the_cap():
    rate, seconds = 8000, 3600
    buf = io.BytesIO()
    t = np.arange(rate * 5) / rate
    speech_like = (0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    with sf.SoundFile(buf, "w", samplerate=rate, channels=1, format="FLAC") as f:
        f.write(speech_like)
        silence = np.zeros(rate * 60, dtype=np.float32)
        for _ in range(seconds // 60):
            f.write(silence)
    data = buf.getvalue()
    assert len(data) < 2 * 1024 * 1024  # a small upload...
    tracemalloc.start()
    samples, sample_rate = decode_audio(data, "audio", max_seconds=30)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sample_rate == REFERENCE_RATE
    assert len(samples) <= (30 + TRIM_MARGIN_SECONDS) * REFERENCE_RATE  # ... not an hour of samples
    assert peak < 64 * 1024 * 1024
    prepared = prepare(data, "audio", IntakeLimits(max_seconds=30))
    assert 4.0 < prepared.duration <= 30.0
