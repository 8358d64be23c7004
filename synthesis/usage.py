"""Usage per API key and day: counted in memory as requests are served, written to the database
in batches (every TTS_USAGE_FLUSH_SECONDS, and at exit), so recording never waits on a write.

Prometheus counters labelled by key name move at once; the database rows (UsageDay) follow
within one flush interval. A request is an HTTP request or a WebSocket connection; characters
and audio seconds are counted per synthesis, under the engine that spoke.
"""
from __future__ import annotations

import atexit
import contextvars
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from . import metrics
from .keys import Principal

logger = logging.getLogger(__name__)
MAX_TRACKED_JOBS = 10000


@dataclass
class RequestNote:
    """What one HTTP request did, filled in by the services while it is served."""

    engine: str = ""


_note: contextvars.ContextVar[RequestNote | None] = contextvars.ContextVar("tts_usage_note", default=None)


class UsageBuffer:
    def __init__(self):
        self._lock = threading.Lock()
        self._rows: dict[tuple, list] = defaultdict(lambda: [0, 0, 0.0])
        self._jobs: list[tuple] = []
        self._last_used: dict[int, object] = {}
        self._thread: threading.Thread | None = None
        self._started = False
        self._stop = threading.Event()

    def record(self, principal: Principal, dialect: str, engine: str = "", *, requests: int = 0,
               characters: int = 0, audio_seconds: float = 0.0) -> None:
        """Count usage of a person's key (the server key and anonymous callers have no rows)."""
        if principal is None or principal.key_id is None:
            return
        labels = {"key": principal.name, "dialect": dialect, "engine": engine}
        if requests:
            metrics.KEY_REQUESTS.labels(**labels).inc(requests)
        if characters:
            metrics.KEY_CHARACTERS.labels(**labels).inc(characters)
        if audio_seconds:
            metrics.KEY_AUDIO_SECONDS.labels(**labels).inc(audio_seconds)
        now = timezone.now()
        with self._lock:
            row = self._rows[(principal.key_id, principal.name, timezone.localdate(now), dialect, engine)]
            row[0] += requests
            row[1] += characters
            row[2] += audio_seconds
            self._last_used[principal.key_id] = now
        self._start()

    def track_job(self, principal: Principal, dialect: str, engine: str, job) -> None:
        """Count the job's audio seconds once it has ended (harvested at the next flush)."""
        if principal is None or principal.key_id is None:
            return
        with self._lock:
            if len(self._jobs) >= MAX_TRACKED_JOBS:
                logger.warning("over %d running jobs tracked for usage: audio seconds of job %s not counted",
                               MAX_TRACKED_JOBS, job.id)
                return
            self._jobs.append((principal, dialect, engine, job))
        self._start()

    def _harvest_locked(self) -> list[tuple]:
        ended, running = [], []
        for entry in self._jobs:
            (ended if entry[3].done else running).append(entry)
        self._jobs = running
        return ended

    def flush(self) -> None:
        """Write what was counted since the last flush (ended jobs' audio included)."""
        with self._lock:
            ended = self._harvest_locked()
        for principal, dialect, engine, job in ended:
            seconds = job.audio_samples / job.sample_rate if job.sample_rate else 0.0
            if seconds:
                self.record(principal, dialect, engine, audio_seconds=seconds)
        with self._lock:
            rows, self._rows = dict(self._rows), defaultdict(lambda: [0, 0, 0.0])
            last_used, self._last_used = self._last_used, {}
        if not rows and not last_used:
            return
        try:
            _write(rows, last_used)
        except Exception:
            logger.exception("usage of %d key/day rows not written; kept for the next flush", len(rows))
            with self._lock:
                for row_key, (requests, characters, audio) in rows.items():
                    row = self._rows[row_key]
                    row[0], row[1], row[2] = row[0] + requests, row[1] + characters, row[2] + audio
                for key_id, when in last_used.items():
                    self._last_used.setdefault(key_id, when)

    def clear(self) -> None:
        """Forget what was counted and not yet written (tests)."""
        with self._lock:
            self._rows.clear()
            self._jobs.clear()
            self._last_used.clear()

    def _start(self) -> None:
        """With the first usage: a flush at exit, and the flusher thread (none when
        TTS_USAGE_FLUSH_SECONDS is 0)."""
        if self._started:
            return
        with self._lock:
            if self._started:
                return
            self._started = True
            atexit.register(self.flush)
            if settings.TTS_USAGE_FLUSH_SECONDS:
                self._thread = threading.Thread(target=self._run, name="tts-usage-flush", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        from django.db import close_old_connections

        while not self._stop.wait(settings.TTS_USAGE_FLUSH_SECONDS):
            try:
                self.flush()
            finally:
                close_old_connections()


def _write(rows: dict, last_used: dict) -> None:
    from django.db import IntegrityError, transaction
    from django.db.models import F

    from .models import ApiKey, UsageDay

    for (key_id, name, day, dialect, engine), (requests, characters, audio) in rows.items():
        match = UsageDay.objects.filter(key_id=key_id, day=day, dialect=dialect, engine=engine)
        increments = {"requests": F("requests") + requests, "characters": F("characters") + characters,
                      "audio_seconds": F("audio_seconds") + audio}
        if match.update(**increments):
            continue
        try:
            with transaction.atomic():
                UsageDay.objects.create(key_id=key_id, day=day, dialect=dialect, engine=engine, requests=requests,
                                        characters=characters, audio_seconds=audio)
        except IntegrityError:  # another process made the row first, or the key was deleted
            if not match.update(**increments):
                logger.warning("usage of deleted key %r dropped", name)
    for key_id, when in last_used.items():
        ApiKey.objects.filter(pk=key_id).update(last_used_at=when)


buffer = UsageBuffer()
flush = buffer.flush


def begin_request() -> tuple[RequestNote, contextvars.Token]:
    note = RequestNote()
    return note, _note.set(note)


def end_request(token: contextvars.Token) -> None:
    _note.reset(token)


def synthesis_started(request, characters: int, job) -> None:
    """Count the current caller's submitted synthesis: its characters now, its audio seconds when
    its job (if it has one here) has ended."""
    from .keys import current

    principal = current()
    engine = request.turns[0].voice.engine if request.turns else ""
    note = _note.get()
    if note is not None:
        note.engine = engine
    buffer.record(principal, request.dialect, engine, characters=characters)
    if job is not None:
        buffer.track_job(principal, request.dialect, engine, job)


CSV_COLUMNS = ("day", "key", "owner", "dialect", "engine", "requests", "characters", "audio_seconds")


def totals(queryset) -> dict:
    """Sums of requests, characters and audio seconds over UsageDay rows."""
    from django.db.models import Sum

    sums = queryset.aggregate(requests=Sum("requests"), characters=Sum("characters"),
                              audio_seconds=Sum("audio_seconds"))
    return {"requests": sums["requests"] or 0, "characters": sums["characters"] or 0,
            "audio_seconds": round(sums["audio_seconds"] or 0.0, 2)}


def write_csv(queryset, out) -> None:
    """UsageDay rows as CSV (with a header line) into the text stream `out`."""
    import csv

    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in queryset.select_related("key__owner").order_by("day", "key__name", "dialect", "engine"):
        writer.writerow([row.day.isoformat(), row.key.name, row.key.owner.get_username(), row.dialect, row.engine,
                         row.requests, row.characters, round(row.audio_seconds, 3)])
