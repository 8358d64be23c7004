"""Cloning by timbre matching, for engines without a zero-shot model (Piper, Kokoro).

A reference becomes a latent (speaker embedding + WORLD timbre profile). To speak with it,
the engine picks the base voice nearest to the reference's embedding among the voices native
to the language being spoken (Kokoro blends the two nearest voicepacks), synthesizes, and
converts the result toward the reference's timbre.
"""
from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np

from ..speaker import encoder, timbre
from ..speaker.latent import SpeakerLatent, analyse

# Each base voice is measured speaking its own language, as references in that language sound.
CALIBRATION = {
    "en": "The quick brown fox jumps over the lazy dog, then runs back home across the fields.",
    "zh": "今天早上，我们沿着河边散步，看到很多人在公园里锻炼身体。",
    "ja": "今日は天気が良かったので、私たちは川沿いの道を散歩しました。",
    "es": "Esta mañana caminamos junto al río y vimos a mucha gente en el parque.",
    "fr": "Ce matin, nous avons marché le long de la rivière et vu beaucoup de monde.",
    "hi": "आज सुबह हम नदी के किनारे टहलने गए और पार्क में बहुत से लोग देखे।",
    "it": "Stamattina abbiamo camminato lungo il fiume e visto molta gente nel parco.",
    "pt": "Hoje de manhã caminhamos ao longo do rio e vimos muita gente no parque.",
}
PROFILE_VERSION = 2  # bump when the calibration or the analysis changes


@functools.lru_cache(maxsize=256)
def decode_latent(text: str) -> SpeakerLatent:
    return SpeakerLatent.from_text(text)


class TimbreCloning:
    """Mixin for Engine subclasses; needs `candidates()`, `synthesize_base()` and `voice_language()`."""

    sample_rate: int
    # Convert the base voice's timbre toward the reference with WORLD. Worth it where the base voices
    # are few (Piper); with Kokoro's 54 voicepacks the nearest blend is closer than the conversion makes
    # it, and WORLD's resynthesis blurs Mandarin tones (./scripts/bench cloning). The engine option
    # `timbre_conversion` (TTS_CLONE_TIMBRE_CONVERSION: on, off) overrides it.
    convert_timbre: bool = True

    def converts(self) -> bool:
        setting = str(self.options.extra.get("timbre_conversion") or "").lower()
        return {"on": True, "off": False}.get(setting, self.convert_timbre)

    def speaker_cache(self) -> Path:
        base = self.options.extra.get("speaker_cache") or Path.home() / ".cache" / "ttsproject" / "speaker"
        return Path(base)

    def profile_dirs(self) -> list[Path]:
        """Where base-voice profiles are looked up: the install-time set first, then this server's cache."""
        shared = self.options.extra.get("profiles_dir")
        return [Path(shared), self.speaker_cache()] if shared else [self.speaker_cache()]

    def prepare_reference(self, samples: np.ndarray, sample_rate: int) -> bytes:
        """Reference audio -> latent bytes (embedding and timbre profile)."""
        return analyse(samples, sample_rate, self.speaker_cache()).to_bytes()

    def candidates(self, language: str = "") -> list[str]:
        raise NotImplementedError

    def synthesize_base(self, text: str, voice: str, speed: float, language: str = "",
                        sampling=None) -> np.ndarray:
        raise NotImplementedError

    def voice_language(self, voice: str) -> str:
        return ""

    def base_profile(self, voice: str, store: Path | None = None) -> tuple[np.ndarray, timbre.TimbreProfile]:
        """Embedding and timbre of a base voice, measured once on a calibration sentence.

        `store`: where a new measurement is written (default: this server's speaker cache).
        """
        cache = self.__dict__.setdefault("_profiles", {})
        lock = self.__dict__.setdefault("_profiles_lock", threading.Lock())
        with lock:
            if voice not in cache:
                cache[voice] = self._load_or_measure(voice, store or self.speaker_cache())
            return cache[voice]

    def _profile_name(self, voice: str) -> str:
        return f"profile-v{PROFILE_VERSION}-{self.name}-{voice}.npz"

    def has_profile(self, voice: str) -> bool:
        return any((d / self._profile_name(voice)).exists() for d in self.profile_dirs())

    def _load_or_measure(self, voice: str, store: Path):
        for directory in self.profile_dirs():
            path = directory / self._profile_name(voice)
            if path.exists():
                with np.load(path) as npz:
                    return npz["embedding"], timbre.TimbreProfile.from_array(npz["timbre"])
        from ..text.language import base

        language = base(self.voice_language(voice))
        text = CALIBRATION.get(language, CALIBRATION["en"])
        audio = self.synthesize_base(text, voice, 1.0, language if language in CALIBRATION else "en")
        embedding = encoder.get_encoder(self.speaker_cache()).embed(audio, self.sample_rate)
        profile = timbre.profile(audio, self.sample_rate)
        path = store / self._profile_name(voice)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, embedding=embedding, timbre=profile.to_array())
        tmp.replace(path)
        return embedding, profile

    def nearest(self, latent: SpeakerLatent, exclude=(), language: str = "") -> list[tuple[str, float]]:
        """Base voices native to `language` (all when none is) ranked by similarity to the latent."""
        pool = [v for v in self.candidates(language) if v not in exclude] or [
            v for v in self.candidates() if v not in exclude]
        scored = [(v, encoder.cosine(latent.embedding, self.base_profile(v)[0])) for v in pool]
        return sorted(scored, key=lambda item: -item[1])

    def clone_base(self, latent: SpeakerLatent, exclude=(), language: str = "") -> tuple[str, timbre.TimbreProfile]:
        """(voice spec to synthesize with, its timbre profile). Default: the nearest voice."""
        voice = self.nearest(latent, exclude, language)[0][0]
        return voice, self.base_profile(voice)[1]

    def synthesize_cloned(self, text: str, latent: SpeakerLatent, speed: float = 1.0, exclude=(),
                          language: str = "", sampling=None) -> np.ndarray:
        voice, source = self.clone_base(latent, exclude, language)
        audio = self.synthesize_base(text, voice, speed, language, sampling)
        if not self.converts():
            return audio
        return timbre.convert(audio, self.sample_rate, source, latent.timbre)
