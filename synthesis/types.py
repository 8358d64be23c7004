"""Plain dataclasses that cross the layers (no Django, no engines)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .engines.base import SamplingParams


@dataclass(frozen=True)
class VoiceRef:
    """A resolved voice: which engine speaks it and as what."""

    name: str
    engine: str
    voice_id: str
    language: str = ""
    latent: str = ""  # base64 latent of a cloned voice (clone-capable engines)


@dataclass(frozen=True)
class Turn:
    """One speaker's text in a request; single-voice requests have one turn."""

    voice: VoiceRef
    text: str


@dataclass
class SynthesisRequest:
    turns: list[Turn]
    speed: float = 1.0  # multiplier; 1.0 is the engine's natural rate
    pitch: float = 0.0  # semitones
    volume: float = 1.0  # gain before the limiter
    sampling: SamplingParams = field(default_factory=SamplingParams)
    length_threshold: int = 50
    window_size: int = 50
    normalize: bool = True
    sample_rate: int | None = None  # output rate; None: the first turn's engine rate
    dialect: str = ""
    request_id: str = ""  # the client's request (X-Request-Id), for the logs
    background: bool = False  # long-form work (async tasks): its first segment waits behind others' first audio

    @property
    def text(self) -> str:
        return " ".join(t.text for t in self.turns)

    def to_dict(self) -> dict:
        """A JSON-safe form, for task records and for workers in other processes."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SynthesisRequest":
        data = dict(data)
        data["turns"] = [Turn(VoiceRef(**t["voice"]), t["text"]) for t in data["turns"]]
        data["sampling"] = SamplingParams(**data.get("sampling", {}))
        return cls(**data)


@dataclass
class AudioChunk:
    samples: np.ndarray  # float32 mono
    sample_rate: int
    index: int
    last: bool = False

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0
