"""The SNAC audio codec (from the `snac` package) as Orpheus uses it: 7 tokens per frame.

A frame holds one level-0 code, two level-1 codes and four level-2 codes, laid out as
[l0, l1a, l2a, l2b, l1b, l2c, l2d]; it decodes to `frame_samples` samples (2048 at 24 kHz).
`WindowedDecoder` turns a growing list of frames into audio while generation goes on: each
window is decoded with a few frames of context on both sides and only its middle is kept, so
the pieces join without edge artefacts.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from ..base import EngineError

TOKENS_PER_FRAME = 7
CONTEXT_FRAMES = 2  # decoded on each side of the frames a window emits
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
        self._batcher = _DecodeBatcher(self._decode_batch, batch_size, wait_timeout) if batch_size > 1 else None

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

    def stream(self, seed: int | None = None) -> "WindowedDecoder":
        return WindowedDecoder(self, seed)


class WindowedDecoder:
    """Audio out of a growing list of frames, in overlapping windows."""

    def __init__(self, codec: SnacCodec, seed: int | None = None):
        self.codec = codec
        self.seed = seed
        self.frames: list[list[int]] = []
        self.emitted = 0
        self.step = FIRST_FRAMES

    def push(self, frame: list[int]) -> list[np.ndarray]:
        self.frames.append(frame)
        pieces = []
        while len(self.frames) - self.emitted >= self.step + CONTEXT_FRAMES:
            pieces.append(self._emit(self.step))
            self.step = min(self.step * 2, MOST_FRAMES)
        return pieces

    def flush(self) -> list[np.ndarray]:
        left = len(self.frames) - self.emitted
        return [self._emit(left)] if left else []

    def _emit(self, count: int) -> np.ndarray:
        start = self.emitted
        lo = max(0, start - CONTEXT_FRAMES)
        hi = min(len(self.frames), start + count + CONTEXT_FRAMES)
        seed = None if self.seed is None else (self.seed * 1_000_003 + start) % 2**63
        audio = self.codec.decode(self.frames[lo:hi], seed)
        fs = self.codec.frame_samples
        self.emitted += count
        return audio[(start - lo) * fs:(start - lo + count) * fs]


class _DecodeBatcher:
    """Decode windows of equal length from concurrent streams together (--batch_size)."""

    def __init__(self, decode_batch, batch_size: int, wait_timeout: float):
        self._decode_batch = decode_batch
        self._size = batch_size
        self._wait = wait_timeout
        self._cond = threading.Condition()
        self._pending: list[dict] = []
        threading.Thread(target=self._loop, name="snac-batcher", daemon=True).start()

    def __call__(self, frames: list[list[int]]) -> np.ndarray:
        item = {"frames": frames, "done": threading.Event()}
        with self._cond:
            self._pending.append(item)
            self._cond.notify_all()
        item["done"].wait()
        if "error" in item:
            raise item["error"]
        return item["audio"]

    def _take(self) -> list[dict]:
        with self._cond:
            while not self._pending:
                self._cond.wait()
            length = len(self._pending[0]["frames"])
            deadline = time.monotonic() + self._wait
            while True:
                same = [p for p in self._pending if len(p["frames"]) == length][:self._size]
                left = deadline - time.monotonic()
                if len(same) >= self._size or left <= 0:
                    break
                self._cond.wait(left)
            for item in same:
                self._pending.remove(item)
            return same

    def _loop(self) -> None:
        while True:
            batch = self._take()
            try:
                for item, audio in zip(batch, self._decode_batch([p["frames"] for p in batch])):
                    item["audio"] = audio
            except Exception as e:  # each waiting stream gets the error
                for item in batch:
                    item["error"] = EngineError(f"SNAC decode failed: {e}")
            for item in batch:
                item["done"].set()
