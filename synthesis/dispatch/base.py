"""The dispatcher interface and the job handle every dialect iterates."""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque

from ..types import AudioChunk, SynthesisRequest

_ids = itertools.count(1)
logger = logging.getLogger(__name__)


class SynthesisFailed(RuntimeError):
    """The engine failed part-way; chunks already delivered stay valid."""


class Job:
    """Handle on one submitted request: a sync and async iterator of AudioChunk.

    Producers (worker threads) call put/finish; consumers iterate; anyone may cancel.
    """

    def __init__(self, request: SynthesisRequest, sample_rate: int, total_segments: int):
        self.id = next(_ids)
        self.request = request
        self.sample_rate = sample_rate
        self.total_segments = total_segments
        self.submitted_at = time.monotonic()
        self.first_chunk_at: float | None = None
        self.audio_samples = 0
        self.error: BaseException | None = None
        self.stream_error: str | None = None  # a failure after the stream's first audio (it ended cleanly)
        self.cancelled = False
        self.done = total_segments == 0
        self._chunks: deque[AudioChunk] = deque()
        self._cond = threading.Condition()
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._on_consume = None  # set by the dispatcher: called after a chunk is taken
        self._on_cancel = None  # set by the dispatcher: frees the job's slot

    # producer side -------------------------------------------------------
    def put(self, chunk: AudioChunk) -> None:
        with self._cond:
            if self.cancelled:
                return
            if self.first_chunk_at is None:
                self.first_chunk_at = time.monotonic()
            self.audio_samples += len(chunk.samples)
            self._chunks.append(chunk)
            self._wake()

    def finish(self, error: BaseException | None = None) -> None:
        with self._cond:
            self.error = self.error or error
            self.done = True
            self._wake()
        if error is None and not self.cancelled:
            self._observe()

    def _observe(self) -> None:
        from .. import metrics

        ttfa = self.first_chunk_at - self.submitted_at if self.first_chunk_at else None
        metrics.observe_job(self.request.dialect, self.request.turns[0].voice.engine, ttfa,
                            time.monotonic() - self.submitted_at, self.audio_samples / self.sample_rate)

    def _wake(self) -> None:
        self._cond.notify_all()
        for loop, event in self._async_waiters:
            loop.call_soon_threadsafe(event.set)

    @property
    def buffered(self) -> int:
        return len(self._chunks)

    # consumer side -------------------------------------------------------
    def cancel(self) -> None:
        """Stop the work; pending segments are dropped within one segment."""
        with self._cond:
            if self.done and not self._chunks:
                return
            self.cancelled = True
            self.done = True
            logger.info("job %s cancelled after %s chunk(s) were queued", self.id, self.buffered)
            self._chunks.clear()
            self._wake()
        if self._on_cancel:
            self._on_cancel(self)

    def _take(self) -> AudioChunk | None:
        """Next chunk, None at the end; raises if the job failed."""
        if self._chunks:
            chunk = self._chunks.popleft()
            if self._on_consume:
                self._on_consume(self)
            return chunk
        if self.error is not None:
            raise SynthesisFailed(str(self.error)) from self.error
        return None

    def __iter__(self):
        while True:
            with self._cond:
                while not self._chunks and not self.done:
                    self._cond.wait()
                chunk = self._take()
            if chunk is None:
                return
            yield chunk

    async def __aiter__(self):
        while True:
            await self._ready()
            with self._cond:
                chunk = self._take()
            if chunk is None:
                return
            yield chunk

    async def first_audio(self) -> None:
        """Wait until the first chunk exists or the job ended; SynthesisFailed if it failed before any audio."""
        await self._ready()
        with self._cond:
            if not self._chunks and self.error is not None:
                raise SynthesisFailed(str(self.error)) from self.error

    async def _ready(self) -> None:
        """Until a chunk is waiting or the job is done."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        with self._cond:
            if self._chunks or self.done:
                return
            self._async_waiters.append((loop, event))
        try:
            while True:
                with self._cond:
                    if self._chunks or self.done:
                        return
                    event.clear()
                await event.wait()
        finally:
            with self._cond:
                self._async_waiters.remove((loop, event))



class Dispatcher(ABC):
    @abstractmethod
    def submit(self, request: SynthesisRequest) -> Job:
        """Queue a request; its chunks arrive on the returned job."""

    def shutdown(self) -> None:
        """Stop worker threads or connections."""

    def unavailable(self, engines: set[str]) -> str:
        """Why jobs for these engines cannot run now ('' when they can)."""
        return ""

    def stats(self) -> dict:
        return {}
