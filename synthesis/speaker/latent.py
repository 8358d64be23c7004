"""A speaker latent for the CPU engines: an embedding plus a WORLD timbre profile."""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import encoder, timbre


@dataclass
class SpeakerLatent:
    embedding: np.ndarray  # (256,) resemblyzer embedding, L2-normalized
    timbre: timbre.TimbreProfile

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(buf, embedding=self.embedding.astype(np.float32), timbre=self.timbre.to_array())
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "SpeakerLatent":
        with np.load(io.BytesIO(data)) as npz:
            return cls(npz["embedding"], timbre.TimbreProfile.from_array(npz["timbre"]))

    @classmethod
    def from_text(cls, text: str) -> "SpeakerLatent":
        return cls.from_bytes(base64.b64decode(text))


def analyse(samples: np.ndarray, rate: int, cache_dir: Path) -> SpeakerLatent:
    """Embedding and timbre profile of a prepared reference recording."""
    return SpeakerLatent(encoder.get_encoder(cache_dir).embed(samples, rate), timbre.profile(samples, rate))
