"""Cloning by timbre matching, for engines without a zero-shot model (Piper, Kokoro).

A reference becomes a latent (speaker embedding + WORLD timbre profile). To speak with it,
the engine picks the base voice nearest to the reference's embedding (Kokoro blends the two
nearest voicepacks), synthesizes, and converts the result toward the reference's timbre.
"""
from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np

from ..speaker import encoder, timbre
from ..speaker.latent import SpeakerLatent, analyse

CALIBRATION = ("The quick brown fox jumps over the lazy dog, and then it runs back home "
               "across the quiet green fields before the evening rain.")


@functools.lru_cache(maxsize=256)
def decode_latent(text: str) -> SpeakerLatent:
    return SpeakerLatent.from_text(text)


class TimbreCloning:
    """Mixin for Engine subclasses; needs `candidates()` and `synthesize_base()`."""

    sample_rate: int

    def speaker_cache(self) -> Path:
        base = self.options.extra.get("speaker_cache") or Path.home() / ".cache" / "ttsproject" / "speaker"
        return Path(base)

    def prepare_reference(self, samples: np.ndarray, sample_rate: int) -> bytes:
        """Reference audio -> latent bytes (embedding and timbre profile)."""
        return analyse(samples, sample_rate, self.speaker_cache()).to_bytes()

    def candidates(self) -> list[str]:
        raise NotImplementedError

    def synthesize_base(self, text: str, voice: str, speed: float) -> np.ndarray:
        raise NotImplementedError

    def base_profile(self, voice: str) -> tuple[np.ndarray, timbre.TimbreProfile]:
        """Embedding and timbre of a base voice, measured once on a calibration sentence."""
        cache = self.__dict__.setdefault("_profiles", {})
        lock = self.__dict__.setdefault("_profiles_lock", threading.Lock())
        with lock:
            if voice not in cache:
                cache[voice] = self._load_or_measure(voice)
            return cache[voice]

    def _load_or_measure(self, voice: str):
        path = self.speaker_cache() / f"profile-{self.name}-{voice}.npz"
        if path.exists():
            with np.load(path) as npz:
                return npz["embedding"], timbre.TimbreProfile.from_array(npz["timbre"])
        audio = self.synthesize_base(CALIBRATION, voice, 1.0)
        embedding = encoder.get_encoder(self.speaker_cache()).embed(audio, self.sample_rate)
        profile = timbre.profile(audio, self.sample_rate)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, embedding=embedding, timbre=profile.to_array())
        tmp.replace(path)
        return embedding, profile

    def nearest(self, latent: SpeakerLatent, exclude=()) -> list[tuple[str, float]]:
        """Base voices ranked by cosine similarity to the latent's embedding."""
        scored = [(v, encoder.cosine(latent.embedding, self.base_profile(v)[0]))
                  for v in self.candidates() if v not in exclude]
        return sorted(scored, key=lambda item: -item[1])

    def clone_base(self, latent: SpeakerLatent, exclude=()) -> tuple[str, timbre.TimbreProfile]:
        """(voice spec to synthesize with, its timbre profile). Default: the nearest voice."""
        voice = self.nearest(latent, exclude)[0][0]
        return voice, self.base_profile(voice)[1]

    def synthesize_cloned(self, text: str, latent: SpeakerLatent, speed: float = 1.0, exclude=()) -> np.ndarray:
        voice, source = self.clone_base(latent, exclude)
        audio = self.synthesize_base(text, voice, speed)
        return timbre.convert(audio, self.sample_rate, source, latent.timbre)
