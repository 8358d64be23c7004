"""A job's audio as encoded bytes: whole, or streamed with no response started before its first audio.

Failures before the first audio raise to the caller (who answers with a status in its dialect);
a failure after it ends the stream cleanly (the encoder is finished, so what was sent decodes),
is logged with the request id and counted. A stream's job ends with the stream, however it ends.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Callable

from asgiref.sync import sync_to_async

from . import metrics
from .audio.encoders import make_encoder
from .dispatch import Job, SynthesisFailed

logger = logging.getLogger(__name__)

# The id of the HTTP request or WebSocket message being served (X-Request-Id), for the logs.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("tts_request_id", default="")


def failed(job: Job, error: BaseException, stage: str) -> None:
    """Log and count a synthesis failure; `stage` is before_audio or after_audio."""
    rid = job.request.request_id or "-"
    logger.error("request %s (job %s, %s) failed %s: %s", rid, job.id, job.request.dialect, stage.replace("_", " "),
                 error)
    metrics.STREAM_FAILURES.labels(dialect=job.request.dialect or "unknown", stage=stage).inc()


async def _encoded(job: Job, fmt: str, streaming: bool) -> AsyncIterator[bytes]:
    """Encoded bytes of a job as its chunks arrive; the job ends with the iteration (a reader that
    went away cancels it).

    A failure raises unless part of a stream has already been sent: that stream ends cleanly and
    `job.stream_error` says why.
    """
    encoder = make_encoder(fmt, job.sample_rate, streaming=streaming)
    sent = False
    try:
        try:
            async for chunk in job:
                data = encoder.feed(chunk.samples)
                if data:
                    sent = True
                    yield data
        except SynthesisFailed as e:
            if not (streaming and sent):  # nothing reached the client: it gets an error status
                failed(job, e, "before_audio")
                raise
            failed(job, e, "after_audio")
            job.stream_error = f"synthesis failed: {e}"
        tail = encoder.finish()
        if tail:
            yield tail
    finally:
        job.cancel()  # no-op when the job finished; stops the work when the client left


def encoded_stream(job: Job, fmt: str) -> AsyncIterator[bytes]:
    """A job's audio encoded for streaming, each piece as soon as it exists."""
    return _encoded(job, fmt, streaming=True)


class ResponseStream:
    """A streaming response's content, tied to its job: Django closes it when the response ends, read
    or not (a client that left before the first byte included), and closing ends the job."""

    def __init__(self, chunks: Callable[[], AsyncIterator[bytes]], close: Callable[[], None]):
        self._chunks = chunks
        self._close = close

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    def close(self) -> None:
        self._close()


async def first_audio(job: Job) -> None:
    """Wait for the job's first audio: a failure before it raises (logged, counted) so the caller
    answers with a status; a client that leaves meanwhile cancels the job."""
    try:
        await job.first_audio()
    except SynthesisFailed as e:
        job.cancel()
        failed(job, e, "before_audio")
        raise
    except BaseException:
        job.cancel()
        raise


async def open_stream(job: Job, fmt: str) -> ResponseStream:
    """The job's encoded stream, once its first audio exists: a response built on it never starts
    without audio."""
    await first_audio(job)
    return ResponseStream(lambda: encoded_stream(job, fmt), job.cancel)


async def encoded_whole(job: Job, fmt: str) -> bytes:
    """The complete encoded file of a job (a WAV gets exact sizes)."""
    return b"".join([data async for data in _encoded(job, fmt, streaming=False)])


class SharedAnswer:
    """The encoded answer of one cacheable synthesis, made once and read by every identical request
    that arrives while it is made; stored in the output cache when it completes.

    A task drives the job, so no reader's pace or departure decides it for the others; when the
    last reader leaves before the end, the job is cancelled and nothing is stored.
    """

    _making: dict[str, "SharedAnswer"] = {}  # key -> answer being made in this process

    def __init__(self, key: str, job: Job, fmt: str, streaming: bool, store: Callable[[bytes], None]):
        self.key, self.job, self.streaming = key, job, streaming
        self.parts: list[bytes] = []
        self.finished = False
        self.error: BaseException | None = None
        self.readers = 0
        self._changed = asyncio.Event()
        self._settled = asyncio.Event()  # stored in the cache, or not to be
        self._making[key] = self
        self._task = asyncio.ensure_future(self._make(fmt, streaming, store))

    @classmethod
    def being_made(cls, key: str) -> "SharedAnswer | None":
        return cls._making.get(key)

    async def _make(self, fmt: str, streaming: bool, store: Callable[[bytes], None]) -> None:
        try:
            try:
                async for data in _encoded(self.job, fmt, streaming):
                    self.parts.append(data)
                    self._wake()
            except Exception as e:  # every reader gets it (before any audio) or ends cleanly (after)
                self.error = e
            finally:
                self.finished = True
                self._wake()
            if self.error is None and self.job.stream_error is None and not self.job.cancelled:
                # not thread-sensitive: the request that started this answer may be over already
                await sync_to_async(store, thread_sensitive=False)(b"".join(self.parts))
        except Exception:  # the answer was given; only its reuse is lost
            logger.exception("could not store answer %s in the output cache", self.key)
        finally:  # until stored, an identical request reads this answer rather than synthesizing again
            self._making.pop(self.key, None)
            self._settled.set()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def first_part(self) -> None:
        """Wait for the first encoded bytes; raises the failure when the answer failed before them."""
        while not self.parts and not self.finished:
            await self._changed.wait()
        if not self.parts and self.error is not None:
            raise self.error

    def join(self) -> "SharedAnswer":
        self.readers += 1
        return self

    def leave(self) -> None:
        """A reader is gone; with none left the synthesis stops."""
        self.readers -= 1
        if self.readers <= 0 and not self.finished:
            self.job.cancel()

    async def read(self) -> AsyncIterator[bytes]:
        """Every encoded part, the ones made before this reader came included."""
        sent = 0
        while True:
            while sent < len(self.parts):
                sent += 1
                yield self.parts[sent - 1]
            if self.finished:
                # a stream that began ends cleanly (job.stream_error says why); a whole file fails
                if self.error is not None and (sent == 0 or not self.streaming):
                    raise self.error
                # the response ends once the answer is stored: the next identical request finds it
                await self._settled.wait()
                return
            await self._changed.wait()

    async def whole(self) -> bytes:
        """The complete answer once made."""
        return b"".join([part async for part in self.read()])
