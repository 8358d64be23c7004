"""A deterministic fake engine: a tone per word, so tests run without model weights."""
from __future__ import annotations

import threading

import numpy as np

from synthesis.engines.base import CAP_SPEED, Engine, EngineVoice

WORD_SECONDS = 0.12


class FakeEngine(Engine):
    name = "fake"
    sample_rate = 16000
    languages = ("en", "zh")
    capabilities = frozenset({CAP_SPEED})
    calls: list[str] = []
    gate: threading.Event | None = None  # when set by a test, segments after the first wait for it
    fail_on: str | None = None

    def load(self):
        FakeEngine.calls = []

    def voices(self):
        return [EngineVoice("fake_a", "en", "female", "fake A"), EngineVoice("fake_b", "en", "male", "fake B")]

    def synthesize(self, text, voice, *, language="", speed=1.0, sampling=None):
        if FakeEngine.gate is not None and FakeEngine.calls:
            assert FakeEngine.gate.wait(10), "test gate never opened"
        FakeEngine.calls.append(text)
        if FakeEngine.fail_on and FakeEngine.fail_on in text:
            raise RuntimeError("fake engine failure")
        words = max(1, len(text.split()) + sum(1 for c in text if "\u4e00" <= c <= "\u9fff"))
        n = int(words * WORD_SECONDS * self.sample_rate / speed)
        freq = 220.0 if voice == "fake_a" else 140.0
        t = np.arange(n) / self.sample_rate
        return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
