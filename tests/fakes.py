"""A deterministic fake engine: a tone per word, so tests run without model weights."""
from __future__ import annotations

import base64
import threading

import numpy as np

from synthesis.engines.base import CAP_CLONE, CAP_CROSS_LINGUAL, CAP_SPEED, Engine, EngineVoice

WORD_SECONDS = 0.12


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])


class FakeEngine(Engine):
    name = "fake"
    sample_rate = 16000
    languages = ("en", "zh", "ja", "es", "fr", "hi", "it", "pt")
    capabilities = frozenset({CAP_SPEED, CAP_CLONE, CAP_CROSS_LINGUAL})
    calls: list[str] = []
    spoken: list[tuple[str, str]] = []  # (voice, language) of each segment synthesized
    gate: threading.Event | None = None  # when set by a test, segments after the first wait for it
    gate_only: str | None = None  # ... only those whose text holds this
    fail_on: str | None = None
    prepared = 0  # references analysed

    def load(self):
        FakeEngine.calls = []

    def voices(self):
        return [EngineVoice("fake_a", "en", "female", "fake A"), EngineVoice("fake_b", "en", "male", "fake B")]

    def prepare_reference(self, samples, sample_rate):
        FakeEngine.prepared += 1
        return np.array([dominant_frequency(samples, sample_rate)], dtype=np.float64).tobytes()

    def synthesize(self, text, voice, *, language="", speed=1.0, sampling=None, latent=""):
        held = FakeEngine.gate_only is None or FakeEngine.gate_only in text
        if FakeEngine.gate is not None and FakeEngine.calls and held:
            assert FakeEngine.gate.wait(10), "test gate never opened"
        FakeEngine.calls.append(text)
        FakeEngine.spoken.append((voice, language))
        if FakeEngine.fail_on and FakeEngine.fail_on in text:
            raise RuntimeError("fake engine failure")
        words = max(1, len(text.split()) + sum(1 for c in text if "\u4e00" <= c <= "\u9fff"))
        n = int(words * WORD_SECONDS * self.sample_rate / speed)
        freq = 220.0 if voice == "fake_a" else 140.0
        if latent:  # a cloned voice speaks at the reference's dominant frequency
            freq = float(np.frombuffer(base64.b64decode(latent), dtype=np.float64)[0])
        t = np.arange(n) / self.sample_rate
        return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


class EnglishOnlyEngine(FakeEngine):
    """A fake engine whose voices speak English only (as Piper's joe does)."""

    name = "fake_en"
    languages = ("en",)
    capabilities = frozenset({CAP_SPEED})

    def voices(self):
        return [EngineVoice("joe_fake", "en-us", "male", "English only")]
