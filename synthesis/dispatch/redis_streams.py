"""Celery dispatch: segments run in Celery workers, audio comes back over Redis Streams.

The web process plans a request (normalization and segmentation need no engine), stores the
plan in Redis and queues the first segment on its engine's queue at high priority. A worker
renders a segment, appends it to the job's stream and queues the next segment at normal
priority, so a new request's first segment goes before other requests' later ones. The
reader counts what it has consumed; a worker that runs `max_ahead` segments ahead parks the
job, and the reader queues the next segment when it catches up (backpressure). Cancelling
sets a key every segment task checks first, so work stops within one segment.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Callable

import numpy as np

from .. import pipeline
from ..errors import Overloaded
from ..redis_clients import RELAY_TIMEOUT, async_redis_client, redis_client
from ..types import AudioChunk, SynthesisRequest
from .base import Dispatcher, Job, SynthesisFailed

logger = logging.getLogger(__name__)
FIRST_PRIORITY, LATER_PRIORITY = 0, 6  # kombu's Redis transport: lower is served first
TTL = 3600
HEARTBEAT_TTL = 10
# A started job whose worker has not beaten for this long, with no chunk either, has lost its
# worker (a later segment may legitimately wait in the queue behind other requests' first ones).
WORKER_LOST_SECONDS = 30


def key(job_id: str, part: str) -> str:
    return f"tts:job:{job_id}:{part}"


def queue_for(engine: str) -> str:
    return f"tts.{engine}"


def priority_of(index: int, background: bool = False) -> int:
    """A job's first segment jumps the queue (its listener waits in silence), unless in the background."""
    return FIRST_PRIORITY if index == 0 and not background else LATER_PRIORITY


# send_segment(job_id, index, queue, priority) puts a segment task on the broker; the Celery
# task module passes it in, so dispatch does not import the tasks that import it.
SendSegment = Callable[[str, int, str, int], None]


class RedisJob(Job):
    """A job whose chunks arrive over a Redis stream written by Celery workers."""

    def __init__(self, dispatcher: "CeleryDispatcher", job_id: str, request, rate: int, segments: list):
        super().__init__(request, rate, len(segments))
        self.job_id = job_id
        self.segment_engines = [s.voice.engine for s in segments]
        self.dispatcher = dispatcher
        self.started = False

    _finished_reading = False

    def cancel(self) -> None:
        """Tell the workers to stop (they check before every segment); no-op once fully read."""
        if self.cancelled or self._finished_reading:
            return
        self.cancelled = True
        self.done = True
        self.dispatcher.redis.set(key(self.job_id, "cancel"), 1, ex=TTL)
        self.dispatcher.forget(self.job_id)

    def _after_chunk(self, client, segment_end: bool) -> None:
        """Count a segment read at its last piece; queue a parked job's next segment once the
        reader caught up."""
        if not segment_end:
            return
        with client.pipeline() as pipe:
            pipe.incr(key(self.job_id, "read"))
            pipe.expire(key(self.job_id, "read"), TTL)
            # the job stays counted as active while its reader reads; a reader gone silent drops out
            pipe.zadd("tts:active", {self.job_id: time.time() + self.dispatcher.reader_timeout})
            pipe.get(key(self.job_id, "parked"))
            consumed, _, _, parked = pipe.execute()
        if parked is not None and int(parked) - consumed < self.dispatcher.max_ahead:
            if client.delete(key(self.job_id, "parked")):
                self.dispatcher.enqueue(self.job_id, int(parked), self.segment_engines[int(parked)])

    @staticmethod
    def _raise_error(fields: dict) -> None:
        error = fields.get(b"error", fields.get("error"))
        if error is not None:
            raise SynthesisFailed(error.decode() if isinstance(error, bytes) else error)

    def _decode(self, fields: dict) -> AudioChunk:
        self._raise_error(fields)
        fields = {k.decode() if isinstance(k, bytes) else k: v for k, v in fields.items()}
        samples = np.frombuffer(fields["pcm"], dtype=np.float32)
        index, last = int(fields["i"]), fields["last"] in (b"1", "1")
        if self.first_chunk_at is None:
            self.first_chunk_at = time.monotonic()
        self.started = True
        self.audio_samples += len(samples)
        return AudioChunk(samples, self.sample_rate, index, last)

    def _timed_out(self, client, waited: float) -> str | None:
        beating = client.exists(key(self.job_id, "hb"))
        if beating:
            self.started = True
            return None
        if self.started and waited > WORKER_LOST_SECONDS:
            return "the synthesis worker stopped (no heartbeat)"
        if waited > self.dispatcher.queue_timeout:
            # every worker is busy or gone: a capacity condition the client may retry, not a failure
            raise Overloaded(f"no synthesis worker took the job within {self.dispatcher.queue_timeout:g} s; "
                             "retry shortly", retry_after=max(1, round(self.dispatcher.queue_timeout / 4)))
        return None

    def _idle(self, client, waited: float) -> None:
        """No chunk for a while: raise if the job's worker is gone or none took it."""
        try:
            reason = self._timed_out(client, waited)
            if reason:
                raise SynthesisFailed(reason)
        except (SynthesisFailed, Overloaded):
            self.cancel()
            raise

    @staticmethod
    def _segment_end(fields: dict) -> bool:
        return fields.get(b"end", fields.get("end", b"1")) in (b"1", "1")

    def _accept(self, client, fields: dict) -> AudioChunk:
        chunk = self._decode(fields)
        self._after_chunk(client, self._segment_end(fields))
        return chunk

    def __iter__(self):
        client = self.dispatcher.redis
        last_id, waited_since = "0", time.monotonic()
        while not self.cancelled:
            reply = client.xread({key(self.job_id, "chunks"): last_id}, count=8, block=1000)
            if not reply:
                self._idle(client, time.monotonic() - waited_since)
                continue
            for entry_id, fields in reply[0][1]:
                last_id, waited_since = entry_id, time.monotonic()
                chunk = self._accept(client, fields)
                yield chunk
                if chunk.last:
                    self._finish_reading()
                    return

    async def first_audio(self) -> None:
        """Until the job's stream holds its first entry (read, not consumed); raises if that is an error
        or no worker takes the job."""
        client, sync = self.dispatcher.aredis, self.dispatcher.redis
        waited_since = time.monotonic()
        while not self.cancelled:
            reply = await client.xread({key(self.job_id, "chunks"): "0"}, count=1, block=1000)
            if reply:
                self._raise_error(reply[0][1][0][1])
                return
            await asyncio.to_thread(self._idle, sync, time.monotonic() - waited_since)

    async def __aiter__(self):
        client, sync = self.dispatcher.aredis, self.dispatcher.redis
        last_id, waited_since = "0", time.monotonic()
        while not self.cancelled:
            reply = await client.xread({key(self.job_id, "chunks"): last_id}, count=8, block=1000)
            if not reply:
                await asyncio.to_thread(self._idle, sync, time.monotonic() - waited_since)
                continue
            for entry_id, fields in reply[0][1]:
                last_id, waited_since = entry_id, time.monotonic()
                chunk = self._decode(fields)
                if self._segment_end(fields):  # Redis bookkeeping once per segment, off the loop
                    await asyncio.to_thread(self._after_chunk, sync, True)
                yield chunk
                if chunk.last:
                    self._finish_reading()
                    return

    def _finish_reading(self) -> None:
        self._finished_reading = True
        self.done = True
        self.dispatcher.forget(self.job_id)
        self._observe()
        self.dispatcher.redis.delete(*(key(self.job_id, p) for p in ("chunks", "plan", "read", "parked", "hb")))


class CeleryDispatcher(Dispatcher):
    def __init__(self, redis_url: str, send_segment: SendSegment, engine_class, max_ahead: int = 4,
                 queue_timeout: float = 120.0, reader_timeout: float = 60.0):
        self.send_segment = send_segment
        self.redis = redis_client(redis_url, RELAY_TIMEOUT)
        self._redis_url = redis_url
        self._aredis = {}
        self.max_ahead = max_ahead
        self.queue_timeout = queue_timeout
        self.reader_timeout = reader_timeout
        self._engine_class = engine_class

    @property
    def aredis(self):
        """An asyncio client for the running loop (a client is bound to the loop it was made on)."""
        loop = asyncio.get_running_loop()
        client = self._aredis.get(id(loop))
        if client is None:
            client = async_redis_client(self._redis_url, RELAY_TIMEOUT)
            self._aredis = {id(loop): client}
        return client

    def submit(self, request: SynthesisRequest) -> Job:
        segments = pipeline.plan(request, busy=self.redis.zcard("tts:active") >= 2)
        rate = request.sample_rate or self._engine_class(request.turns[0].voice.engine).sample_rate
        job_id = uuid.uuid4().hex
        job = RedisJob(self, job_id, request, rate, segments)
        if not segments:
            return job
        plan = {"request": request.to_dict(), "rate": rate, "max_ahead": self.max_ahead,
                "segments": [{"voice": s.voice.__dict__, "text": s.text, "pause": s.pause_after, "language": s.language}
                             for s in segments]}
        with self.redis.pipeline() as pipe:
            pipe.set(key(job_id, "plan"), json.dumps(plan), ex=TTL)
            # active until its reader is done with it; counted out if the reader goes quiet (see _after_chunk)
            pipe.zadd("tts:active", {job_id: time.time() + self.queue_timeout + self.reader_timeout})
            pipe.hset("tts:estimate", job_id, estimate_seconds(request))
            pipe.execute()
        self.enqueue(job_id, 0, segments[0].voice.engine, request.background)
        return job

    def enqueue(self, job_id: str, index: int, engine: str, background: bool = False) -> None:
        self.send_segment(job_id, index, queue_for(engine), priority_of(index, background))

    def unavailable(self, engines: set[str]) -> str:
        missing = sorted(engines - live_engines(self.redis))
        return f"no synthesis worker for {', '.join(missing)} is running" if missing else ""

    def forget(self, job_id: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.zrem("tts:active", job_id)
            pipe.hdel("tts:estimate", job_id)
            pipe.execute()

    def stats(self) -> dict:
        now = time.time()
        self.redis.zremrangebyscore("tts:active", 0, now)
        estimates = self.redis.hvals("tts:estimate")
        return {"active_jobs": self.redis.zcard("tts:active"),
                "queued_seconds": sum(float(v) for v in estimates),
                "queued_segments": queued_segments(self.redis)}


def queued_segments(redis_client) -> int:
    """Segment tasks waiting in the engines' Celery queues (kombu keeps one list per queue and
    priority, `tts.<engine>` and `tts.<engine>\\x06\\x16<priority>`)."""
    return sum(redis_client.llen(name) for name in redis_client.scan_iter(f"{queue_for('')}*", count=100,
                                                                          _type="list"))


WORKER_TTL = 15  # seconds a worker's announcement lives; it renews it every third of that


def announce_worker(redis_client, name: str, engines: list[str]) -> None:
    """Keep `tts:worker:<name>` (the engines it serves) alive while this process lives."""
    import threading

    def beat():
        while True:
            try:
                redis_client.set(f"tts:worker:{name}", json.dumps(engines), ex=WORKER_TTL)
            except Exception:  # Redis away for a moment: the next beat tries again
                logger.warning("worker %s could not announce itself", name, exc_info=True)
            time.sleep(WORKER_TTL / 3)

    threading.Thread(target=beat, name="tts-worker-announce", daemon=True).start()


def live_engines(redis_client) -> set[str]:
    """Engines some live worker serves."""
    engines: set[str] = set()
    for name in redis_client.scan_iter("tts:worker:*", count=100):
        value = redis_client.get(name)
        if value:
            engines.update(json.loads(value))
    return engines


def estimate_seconds(request: SynthesisRequest) -> float:
    """Seconds of audio a request will take, from its text (about 14 characters a second)."""
    return len(request.text) / 14.0 / max(request.speed, 0.25)


def render_planned_segment(redis_client, job_id: str, index: int, engine_loader, send_segment: SendSegment) -> str:
    """Worker side: render one segment into the job's stream and queue the next one."""
    if redis_client.exists(key(job_id, "cancel")):
        return "cancelled"
    raw = redis_client.get(key(job_id, "plan"))
    if raw is None:
        return "expired"
    plan = json.loads(raw)
    request = SynthesisRequest.from_dict(plan["request"])
    spec = plan["segments"][index]
    from ..types import VoiceRef

    segment = pipeline.PlannedSegment(VoiceRef(**spec["voice"]), spec["text"], spec["pause"], spec.get("language", ""))
    redis_client.set(key(job_id, "hb"), index, ex=HEARTBEAT_TTL)
    last = index == len(plan["segments"]) - 1
    pieces = pipeline.render_pieces(segment, request, plan["rate"], engine_loader)
    try:
        for samples, segment_end in pieces:
            with redis_client.pipeline() as pipe:
                pipe.xadd(key(job_id, "chunks"), {"i": index, "last": int(last and segment_end),
                                                  "end": int(segment_end),
                                                  "pcm": np.asarray(samples, dtype=np.float32).tobytes()})
                pipe.expire(key(job_id, "chunks"), TTL)
                pipe.set(key(job_id, "hb"), index, ex=HEARTBEAT_TTL)
                pipe.exists(key(job_id, "cancel"))
                if pipe.execute()[-1]:
                    return "cancelled"
    except Exception as e:  # the reader ends the stream with this error
        redis_client.xadd(key(job_id, "chunks"), {"error": f"synthesis failed: {e}"})
        redis_client.expire(key(job_id, "chunks"), TTL)
        raise
    finally:
        pieces.close()
    if last:
        return "done"
    consumed = int(redis_client.get(key(job_id, "read")) or 0)
    if index + 1 - consumed >= plan["max_ahead"]:
        redis_client.set(key(job_id, "parked"), index + 1, ex=TTL)
        # The reader may have caught up while parking: take the park back and go on.
        consumed = int(redis_client.get(key(job_id, "read")) or 0)
        if index + 1 - consumed >= plan["max_ahead"] or not redis_client.delete(key(job_id, "parked")):
            return "parked"
    send_segment(job_id, index + 1, queue_for(plan["segments"][index + 1]["voice"]["engine"]), priority_of(index + 1))
    return "next"
