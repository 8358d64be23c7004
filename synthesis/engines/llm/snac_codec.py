"""The SNAC audio codec (from the `snac` package) as Orpheus uses it: 7 tokens per frame.

A frame holds one level-0 code, two level-1 codes and four level-2 codes, laid out as
[l0, l1a, l2a, l2b, l1b, l2c, l2d]; it decodes to `frame_samples` samples (2048 at 24 kHz).
Streams decode in overlapping windows (windows.py) of a few frames.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from ..base import EngineError
from .windows import DecodeBatcher, WindowedDecoder

TOKENS_PER_FRAME = 7
CONTEXT_FRAMES = 3  # decoded on each side of the frames a window emits: SNAC's decoder reaches ±3 frames
FIRST_FRAMES = 2  # the first window emits this many frames, later ones up to MOST_FRAMES
MOST_FRAMES = 8


def load_snac(path: str, device: str):
    """A SNAC model from a local directory: config.json plus pytorch_model.bin or model.safetensors."""
    import torch
    from snac import SNAC

    folder = Path(path or "")
    config_file = folder / "config.json"
    if not path or not config_file.is_file():
        raise EngineError(f"SNAC path {path!r} must be a directory with config.json and the weights "
                          "(e.g. a local copy of hubertsiuzdak/snac_24khz)")
    try:
        model = SNAC(**json.loads(config_file.read_text()))
        if (folder / "model.safetensors").is_file():
            from safetensors.torch import load_file

            state = load_file(str(folder / "model.safetensors"))
        else:
            state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (OSError, TypeError, RuntimeError, ValueError) as e:
        raise EngineError(f"cannot load SNAC from {path!r}: {e}") from e
    if list(model.vq_strides) != [4, 2, 1]:
        raise EngineError(f"SNAC at {path!r} has vq_strides {model.vq_strides}; Orpheus frames need [4, 2, 1]")
    return model.to(device).eval()


class SnacCodec:
    def __init__(self, model, device: str, batch_size: int = 1, wait_timeout: float = 0.01):
        self.model = model
        self.device = device
        self.sample_rate = int(model.sampling_rate)
        self.codebook_size = int(model.codebook_size)
        self.frame_samples = int(model.hop_length) * int(model.vq_strides[0])
        self._lock = threading.Lock()
        self._batcher = DecodeBatcher(self._decode_batch, batch_size, wait_timeout,
                                      name="snac-batcher") if batch_size > 1 else None

    def decode(self, frames: list[list[int]], seed: int | None = None) -> np.ndarray:
        """Frames of 7 codes -> float32 samples (len(frames) * frame_samples).

        SNAC's decoder adds random noise; with a seed that noise is drawn from it, so a seeded
        request decodes to the same samples every time.
        """
        if seed is None and self._batcher is not None:
            return self._batcher(frames)
        return self._decode_batch([frames], seed)[0]

    def _decode_batch(self, windows: list[list[list[int]]], seed: int | None = None) -> list[np.ndarray]:
        """Windows of the same length, decoded in one call."""
        import torch

        # The noise comes from torch's global generator: decodes take turns, and a seeded one
        # draws from a generator forked and seeded for it.
        with self._lock, torch.random.fork_rng(devices=[self.device] if self.device.startswith("cuda") else []):
            if seed is not None:
                torch.manual_seed(seed)
            return self._decode_locked(windows)

    def _decode_locked(self, windows: list[list[list[int]]]) -> list[np.ndarray]:
        import torch

        codes = torch.tensor(windows, dtype=torch.long, device=self.device)  # [B, F, 7]
        levels = [codes[:, :, 0],
                  codes[:, :, [1, 4]].reshape(len(windows), -1),
                  codes[:, :, [2, 3, 5, 6]].reshape(len(windows), -1)]
        with torch.inference_mode():
            audio = self.model.decode(levels)[:, 0, :].float().cpu().numpy()
        return [row.astype(np.float32) for row in audio]

    def stream(self, seed: int | None = None) -> WindowedDecoder:
        return WindowedDecoder(self.decode, self.frame_samples, context=CONTEXT_FRAMES, first=FIRST_FRAMES,
                               most=MOST_FRAMES, seed=seed)
