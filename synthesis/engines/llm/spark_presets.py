"""Spark-TTS's controllable (preset) voices: their names, and the global tokens each one keeps.

A preset voice is a gender with a pitch and a speed label, the attributes of Spark's
controllable mode (`<|gender_N|><|pitch_label_N|><|speed_label_N|>`, as in the release's
`cli/SparkTTS.py` `process_prompt_control`): `female`, `male-high`, `female-very_low-high`, ...
(`<gender>[-<pitch>[-<speed>]]`, levels very_low, low, moderate, high, very_high; moderate when left
out). The LM makes a preset's 32 global tokens in the same pass as the first segment it speaks,
with that segment's text; `PresetStore` keeps them (and writes them to a file when it has a
folder), so later segments, later requests and restarts speak with the same voice.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

LEVELS = {"very_low": 0, "low": 1, "moderate": 2, "high": 3, "very_high": 4}
GENDERS = {"female": 0, "male": 1}
# The voices listed in the catalog; every other combination of the labels is accepted by name.
LISTED = ("female", "male", "female-high", "female-low", "male-high", "male-low")


@dataclass(frozen=True)
class Preset:
    gender: str
    pitch: str = "moderate"
    speed: str = "moderate"

    @property
    def key(self) -> str:
        return f"{self.gender}-{self.pitch}-{self.speed}"

    @property
    def description(self) -> str:
        return f"Spark controllable voice: {self.pitch.replace('_', ' ')} pitch, {self.speed.replace('_', ' ')} speed"


def parse_preset(voice: str) -> Preset | None:
    """The preset a voice name stands for, or None when it names none."""
    gender, _, rest = (voice or "").partition("-")
    if gender not in GENDERS:
        return None
    labels = []
    while rest:  # levels may themselves hold "_" but never "-"
        level, _, rest = rest.partition("-")
        labels.append(level)
    if len(labels) > 2 or any(level not in LEVELS for level in labels):
        return None
    return Preset(gender, *labels)


def model_fingerprint(root: Path) -> str:
    """Names, sizes and times of the release's weight files: global tokens belong to these weights."""
    files = sorted([*(root / "LLM").glob("*.safetensors"), *(root / "LLM").glob("*.bin"),
                    root / "BiCodec" / "model.safetensors"])
    parts = [f"{f.relative_to(root)}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files if f.exists()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class PresetStore:
    """Global tokens of the preset voices spoken so far; one maker per voice at a time.

    `claim(key)` gives the known tokens, or None: the caller makes them and must `settle` (with the
    tokens, or None when it failed, so a waiting caller takes over). Callers that claim a voice
    being made wait for it: it takes only the first 34 tokens of the maker's segment.
    """

    def __init__(self, path: Path | None = None, token_count: int = 32, codebook_size: int = 4096):
        self.path = path
        self.token_count, self.codebook_size = token_count, codebook_size
        self._known: dict[str, list[int]] = {}
        self._making: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._known.update(self._read())

    def valid(self, tokens) -> bool:
        return (isinstance(tokens, list) and len(tokens) == self.token_count
                and all(isinstance(t, int) and 0 <= t < self.codebook_size for t in tokens))

    def _read(self) -> dict[str, list[int]]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            stored = json.loads(self.path.read_text())
        except (OSError, ValueError) as e:
            logger.warning("spark: ignoring the preset voices' file %s: %s", self.path, e)
            return {}
        return {k: v for k, v in stored.items() if self.valid(v)} if isinstance(stored, dict) else {}

    def _write(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            merged = {**self._read(), **self._known}
            temporary = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_text(json.dumps(merged))
            os.replace(temporary, self.path)
        except OSError as e:
            logger.warning("spark: cannot keep the preset voices in %s: %s", self.path, e)

    def known(self, key: str) -> list[int] | None:
        with self._lock:
            return self._known.get(key)

    def claim(self, key: str) -> list[int] | None:
        while True:
            with self._lock:
                if key not in self._known:
                    # another process (a worker sharing the folder) may have made it meanwhile
                    stored = self._read().get(key)
                    if stored is not None:
                        self._known[key] = stored
                if key in self._known:
                    return self._known[key]
                making = self._making.get(key)
                if making is None:
                    self._making[key] = threading.Event()
                    return None
            making.wait()

    def settle(self, key: str, tokens: list[int] | None) -> None:
        with self._lock:
            if tokens is not None and key not in self._known:
                self._known[key] = list(tokens)
                self._write()
            making = self._making.pop(key, None)
        if making is not None:
            making.set()
