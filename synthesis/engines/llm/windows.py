"""Streaming decode shared by the codec-LLM engines.

`WindowedDecoder` turns a growing list of frames (codec steps) into audio while generation goes
on: each window is decoded with some frames of context on both sides and only its middle is
kept, so the pieces join without edge artefacts. `DecodeBatcher` decodes equal-length windows
of concurrent streams in one call (--batch_size).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from ..base import EngineError


class WindowedDecoder:
    """Audio out of a growing list of frames, in overlapping windows: the first emits `first`
    frames, each later one twice as many as the last, up to `most`."""

    def __init__(self, decode: Callable[[list, int | None], np.ndarray], frame_samples: int, *,
                 context: int, first: int, most: int, seed: int | None = None):
        self.decode = decode
        self.frame_samples = frame_samples
        self.context, self.most = context, most
        self.seed = seed
        self.frames: list = []
        self.emitted = 0
        self.step = first

    def push(self, frame) -> list[np.ndarray]:
        self.frames.append(frame)
        pieces = []
        while len(self.frames) - self.emitted >= self.step + self.context:
            pieces.append(self._emit(self.step))
            self.step = min(self.step * 2, self.most)
        return pieces

    def flush(self) -> list[np.ndarray]:
        left = len(self.frames) - self.emitted
        return [self._emit(left)] if left else []

    def _emit(self, count: int) -> np.ndarray:
        start = self.emitted
        lo = max(0, start - self.context)
        hi = min(len(self.frames), start + count + self.context)
        seed = None if self.seed is None else (self.seed * 1_000_003 + start) % 2**63
        audio = self.decode(self.frames[lo:hi], seed)
        fs = self.frame_samples
        self.emitted += count
        return audio[(start - lo) * fs:(start - lo + count) * fs]


def decode_while_generating(frames: Iterable, decoder: WindowedDecoder, generation) -> Iterator[np.ndarray]:
    """Audio pieces of `frames` as they arrive; closing early cancels the generation."""
    try:
        for frame in frames:
            yield from decoder.push(frame)
        yield from decoder.flush()
    finally:
        generation.cancel()


class DecodeBatcher:
    """Decode windows of equal length from concurrent streams together.

    `decode_batch` takes a list of items and returns one array per item; `length` says which
    items can share a call (the window length in frames).
    """

    def __init__(self, decode_batch: Callable[[list], Sequence[np.ndarray]], batch_size: int,
                 wait_timeout: float, length: Callable = len, name: str = "decode-batcher"):
        self._decode_batch = decode_batch
        self._size = batch_size
        self._wait = wait_timeout
        self._length = length
        self._cond = threading.Condition()
        self._pending: list[dict] = []
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def __call__(self, item) -> np.ndarray:
        entry = {"item": item, "done": threading.Event()}
        with self._cond:
            self._pending.append(entry)
            self._cond.notify_all()
        entry["done"].wait()
        if "error" in entry:
            raise entry["error"]
        return entry["audio"]

    def _take(self) -> list[dict]:
        with self._cond:
            while not self._pending:
                self._cond.wait()
            length = self._length(self._pending[0]["item"])
            deadline = time.monotonic() + self._wait
            while True:
                same = [p for p in self._pending if self._length(p["item"]) == length][:self._size]
                left = deadline - time.monotonic()
                if len(same) >= self._size or left <= 0:
                    break
                self._cond.wait(left)
            for entry in same:
                self._pending.remove(entry)
            return same

    def _loop(self) -> None:
        while True:
            batch = self._take()
            try:
                for entry, audio in zip(batch, self._decode_batch([p["item"] for p in batch])):
                    entry["audio"] = audio
            except Exception as e:  # each waiting stream gets the error
                for entry in batch:
                    entry["error"] = EngineError(f"codec decode failed: {e}")
            for entry in batch:
                entry["done"].set()
