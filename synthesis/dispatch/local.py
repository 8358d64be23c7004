"""In-process dispatch: worker threads run segments from a priority queue.

First-audio-first: a request's first segment outranks every later segment of
other requests, so a new request is never stuck behind other requests' tails;
later segments are served in arrival order, so long jobs keep moving.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time

from .. import pipeline
from ..engines.base import Rendering
from ..types import AudioChunk, SynthesisRequest
from .base import Dispatcher, Job

logger = logging.getLogger(__name__)

FIRST_SEGMENT_PRIORITY, LATER_SEGMENT_PRIORITY = 0, 1


class _Work:
    """Scheduler state of one job."""

    def __init__(self, job: Job, segments, rate: int):
        self.job = job
        self.segments = segments
        self.rate = rate
        self.next_index = 0
        self.parked = False
        self.parked_at = 0.0


class LocalDispatcher(Dispatcher):
    """`reader_timeout`: a job parked that long without its reader taking a chunk is cancelled (its
    reader is gone without a word, e.g. a response Django never started), so its slot is freed."""

    def __init__(self, engine_loader, workers: int = 1, max_ahead: int = 4, reader_timeout: float = 60.0):
        self._engine_loader = engine_loader
        self._reader_timeout = reader_timeout
        self._heap: list[tuple[int, int, _Work]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._max_ahead = max(1, max_ahead)
        self._closed = False
        self._stopping = threading.Event()
        self._active: dict[int, _Work] = {}
        self._threads = [threading.Thread(target=self._run, name=f"tts-worker-{i}", daemon=True)
                         for i in range(max(1, workers))]
        for thread in self._threads:
            thread.start()
        threading.Thread(target=self._reap, name="tts-reaper", daemon=True).start()

    def submit(self, request: SynthesisRequest) -> Job:
        with self._cond:
            busy = len(self._active) >= len(self._threads)
        segments = pipeline.plan(request, busy=busy)
        rate = pipeline.output_rate(request, self._engine_loader)
        job = Job(request, rate, len(segments))
        if not segments:
            return job
        work = _Work(job, segments, rate)
        job._on_consume = lambda _job: self._resume(work)
        job._on_cancel = lambda _job: self._cancelled(work)
        with self._cond:
            self._active[job.id] = work
            Rendering.job_started()
            self._push(LATER_SEGMENT_PRIORITY if request.background else FIRST_SEGMENT_PRIORITY, work)
        return job

    def _push(self, priority: int, work: _Work) -> None:
        heapq.heappush(self._heap, (priority, next(self._seq), work))
        self._cond.notify()

    def _resume(self, work: _Work) -> None:
        """A consumer took a chunk: a job parked for backpressure may go on."""
        with self._cond:
            if work.parked and work.job.buffered < self._max_ahead:
                work.parked = False
                self._push(LATER_SEGMENT_PRIORITY, work)

    def _cancelled(self, work: _Work) -> None:
        with self._cond:
            if work.parked:
                self._drop(work)

    def _next(self) -> _Work | None:
        with self._cond:
            while not self._heap and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            return heapq.heappop(self._heap)[2]

    def _run(self) -> None:
        while True:
            work = self._next()
            if work is None:
                return
            job = work.job
            if job.cancelled:
                self._forget(work)
                continue
            index = work.next_index
            last = index == len(work.segments) - 1
            try:
                self._render(work, index, last)
            except Exception as e:  # the engine failed: the job ends with its error
                logger.exception("synthesis failed in job %s segment %s", job.id, index)
                job.finish(e)
                self._forget(work)
                continue
            work.next_index += 1
            if last or job.cancelled:
                job.finish()
                self._forget(work)
                continue
            with self._cond:
                if job.buffered >= self._max_ahead:
                    work.parked = True
                    work.parked_at = time.monotonic()
                else:
                    self._push(LATER_SEGMENT_PRIORITY, work)

    def _render(self, work: _Work, index: int, last: bool) -> None:
        """Put a segment's audio on its job piece by piece; a cancelled job stops the engine."""
        job = work.job
        pieces = pipeline.render_pieces(work.segments[index], job.request, work.rate, self._engine_loader)
        try:
            for samples, segment_end in pieces:
                if job.cancelled:
                    return
                job.put(AudioChunk(samples, work.rate, index, last and segment_end))
        finally:
            pieces.close()

    def _reap(self) -> None:
        """Cancel jobs parked longer than the reader timeout (checked a few times per timeout)."""
        interval = max(0.05, self._reader_timeout / 4)
        while not self._stopping.wait(interval):  # its own event: waiting on the queue's condition
            with self._cond:                      # would take wake-ups meant for the workers
                now = time.monotonic()
                abandoned = [w for w in self._active.values()
                             if w.parked and now - w.parked_at > self._reader_timeout]
            for work in abandoned:
                logger.warning("job %s: its reader took nothing for %.0f s; cancelled", work.job.id,
                               self._reader_timeout)
                work.job.cancel()

    def _forget(self, work: _Work) -> None:
        with self._cond:
            self._drop(work)

    def _drop(self, work: _Work) -> None:
        if self._active.pop(work.job.id, None) is not None:
            Rendering.job_ended()

    def stats(self) -> dict:
        with self._cond:
            remaining = sum(len(w.segments[i].text) for w in self._active.values()
                            for i in range(w.next_index, len(w.segments)))
            return {"active_jobs": len(self._active), "queued_segments": len(self._heap),
                    "queued_seconds": remaining / 14.0}

    def shutdown(self) -> None:
        self._stopping.set()
        with self._cond:
            self._closed = True
            for work in list(self._active.values()):
                self._drop(work)
            self._cond.notify_all()
