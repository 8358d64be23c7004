"""Async generation tasks: create, run segment by segment, resume, stop, sweep.

A task's text (up to TTS_MAX_TASK_TEXT_LENGTH characters: a chapter) is cut into segments of whole
sentences. Each segment is synthesized as a background request (other requests' first audio goes
first), stored as PCM in media storage and counted in the record, so progress is visible and a run
that stops (a worker killed, a server restarted) resumes after the last stored segment. When every
segment is stored they are encoded into the result file, streaming from storage, and removed.
Views, admin and Celery call these.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from synthesis import keys, usage
from synthesis.models import ApiKey
from synthesis.services import check_request, start_synthesis
from synthesis.audio.encoders import encode_all, to_pcm16, wav_header
from synthesis.errors import Conflict, NotFound, Overloaded
from synthesis.text.language import CJK_PUNCTUATION, HAN, KANA
from synthesis.text.sentences import sentences
from synthesis.types import SynthesisRequest, Turn

from .models import TaskRecord

logger = logging.getLogger(__name__)
Status = TaskRecord.Status
# a stored segment ending in CJK text joins the next without a space
CJK_TEXT_END = re.compile(f"[{CJK_PUNCTUATION}{KANA}{HAN}]$")
SEGMENT_CHARS = 400  # text per stored segment: the unit of progress and of resuming

_local_jobs: dict[str, object] = {}  # step_id -> Job running in this process
_local_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


class Superseded(Exception):
    """This run no longer owns the task (stopped, or another run resumed it)."""


def split_segments(text: str) -> list[str]:
    """The text in pieces of whole sentences of up to SEGMENT_CHARS characters (a longer sentence
    is cut at spaces where it has them)."""
    pieces: list[str] = []
    for sentence in sentences(text):
        while len(sentence) > 2 * SEGMENT_CHARS:
            cut = sentence.rfind(" ", 0, SEGMENT_CHARS)
            cut = cut if cut > SEGMENT_CHARS // 2 else SEGMENT_CHARS
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if pieces and len(pieces[-1]) + len(sentence) < SEGMENT_CHARS:
            joiner = "" if CJK_TEXT_END.search(pieces[-1]) else " "
            pieces[-1] = f"{pieces[-1]}{joiner}{sentence}"
        elif sentence:
            pieces.append(sentence)
    return pieces


def create_task(step_id: str, request: SynthesisRequest, fmt: str, fields: dict) -> TaskRecord:
    """Record a task and start it. `fields` is the request as the client sent it (for display)."""
    check_request(request)
    active = TaskRecord.objects.filter(status__in=TaskRecord.ACTIVE).count()
    if active >= settings.TTS_MAX_ACTIVE_TASKS:
        raise Overloaded(f"{active} tasks are pending or running (limit {settings.TTS_MAX_ACTIVE_TASKS}); "
                         "retry later", retry_after=30)
    segments = split_segments(request.text)
    params = {"fields": fields, "request": request.to_dict(), "segments": segments}
    principal = keys.current()
    made_by = {"owner_id": principal.owner_id, "api_key_id": principal.key_id} if principal else {}
    try:
        with transaction.atomic():
            record = TaskRecord.objects.create(step_id=step_id, params=params, format=fmt,
                                               engine=request.turns[0].voice.engine, segments_total=len(segments),
                                               **made_by)
    except IntegrityError as e:
        raise Conflict(f"Task {step_id} already exists", field="step_id") from e
    launch(record.pk)
    return record


def launch(task_pk: int) -> None:
    """Run in Celery when REDIS_URL is set, else in this process's task threads."""
    if settings.REDIS_URL:
        from synthesis.dispatch.redis_streams import queue_for

        from .tasks import run_generation

        engine = TaskRecord.objects.filter(pk=task_pk).values_list("engine", flat=True).first()
        run_generation.apply_async((task_pk,), queue=queue_for(engine) if engine else "tts")
        return
    _local_executor().submit(_run_logged, task_pk)


def _local_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.TTS_TASK_THREADS, thread_name_prefix="tts-task")
    return _executor


def _run_logged(task_pk: int) -> None:
    try:
        run_task(task_pk)
    except Exception:
        logger.exception("task %s crashed", task_pk)
    finally:
        from django.db import connection

        connection.close()


def _claim(task_pk: int) -> TaskRecord | None:
    """Take a pending task for this run: its worker field names the run, and only that run may write."""
    now = timezone.now()
    run = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    updated = TaskRecord.objects.filter(pk=task_pk, status=Status.PENDING).update(
        status=Status.PROCESSING, started_at=now, heartbeat_at=now, worker=run, attempts=F("attempts") + 1)
    return TaskRecord.objects.get(pk=task_pk) if updated else None


def _owned(record: TaskRecord):
    return TaskRecord.objects.filter(pk=record.pk, status=Status.PROCESSING, worker=record.worker)


def run_task(task_pk: int) -> str:
    """Synthesize a task's remaining segments, then its result file; returns the final status."""
    record = _claim(task_pk)
    if record is None:
        return TaskRecord.objects.filter(pk=task_pk).values_list("status", flat=True).first() or "not_found"
    try:
        template = SynthesisRequest.from_dict(record.params["request"])
        for index in range(record.segments_done, record.segments_total):
            _run_segment(record, template, index)
        return _finish(record)
    except Superseded:
        return TaskRecord.objects.filter(pk=task_pk).values_list("status", flat=True).first() or "not_found"
    except Exception as e:
        return _fail(record, e)


def _run_segment(record: TaskRecord, template: SynthesisRequest, index: int) -> None:
    """One segment synthesized in the background and stored; the record counts it."""
    text = record.params["segments"][index]
    request = replace(template, turns=[Turn(template.turns[0].voice, text)], background=True)
    job = start_synthesis(request)
    with _local_lock:
        _local_jobs[record.step_id] = job
    parts = []
    try:
        for chunk in job:
            parts.append(to_pcm16(chunk.samples))
            if not _owned(record).update(heartbeat_at=timezone.now()):  # stopped: stop within this segment
                raise Superseded()
        if job.cancelled:
            raise Superseded()
    finally:
        job.cancel()
        with _local_lock:
            _local_jobs.pop(record.step_id, None)
    pcm = b"".join(parts)
    name = _segment_name(record, index)
    default_storage.delete(name)
    default_storage.save(name, ContentFile(pcm))
    seconds = len(pcm) / 2 / job.sample_rate
    done = _owned(record).filter(segments_done=index).update(
        segments_done=index + 1, sample_rate=job.sample_rate, heartbeat_at=timezone.now(),
        audio_duration=(record.audio_duration or 0.0) + seconds)
    if not done:
        raise Superseded()
    record.audio_duration = (record.audio_duration or 0.0) + seconds
    record.sample_rate = job.sample_rate


def _segment_name(record: TaskRecord, index: int) -> str:
    return f"tasks/segments/{record.pk}/{index:06d}.pcm"


def _finish(record: TaskRecord) -> str:
    """Encode the stored segments into the result file (streaming from storage), then drop them."""
    record.refresh_from_db()
    names = [_segment_name(record, i) for i in range(record.segments_total)]

    def stored_pcm():
        for name in names:
            with default_storage.open(name, "rb") as segment:
                yield segment.read()

    with tempfile.TemporaryFile() as out:
        if record.format in ("wav", "pcm"):  # stored as 16-bit PCM already: copied, never held whole
            if record.format == "wav":  # the header needs the total size, which the stored segments know
                out.write(wav_header(record.sample_rate, sum(default_storage.size(n) for n in names)))
            for pcm in stored_pcm():
                out.write(pcm)
        else:
            samples = (np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0 for pcm in stored_pcm())
            for data in encode_all(record.format, record.sample_rate, samples):
                out.write(data)
        out.seek(0)
        with transaction.atomic():
            current = TaskRecord.objects.select_for_update().get(pk=record.pk)
            if current.status != Status.PROCESSING or current.worker != record.worker:
                return current.status
            current.result.save(f"{record.step_id}.{record.format}", File(out), save=False)
            current.status = Status.COMPLETED
            current.completed_at = timezone.now()
            current.save()
    _delete_segments(record)
    _charge_audio(current)
    return Status.COMPLETED


def _charge_audio(record: TaskRecord) -> None:
    """The finished task's audio seconds are its key's usage (its characters were at creation)."""
    if record.api_key_id is None or not record.audio_duration:
        return
    key = ApiKey.objects.filter(pk=record.api_key_id).first()
    if key is not None:
        request = record.params.get("request", {})
        usage.buffer.record(keys.principal_of(key), request.get("dialect", "fish"), record.engine,
                            audio_seconds=record.audio_duration)


def _delete_segments(record: TaskRecord) -> None:
    for index in range(record.segments_total):
        default_storage.delete(_segment_name(record, index))


def _fail(record: TaskRecord, error: BaseException) -> str:
    logger.warning("task %s failed: %s", record.step_id, error)
    if _owned(record).update(status=Status.FAILED, error=str(error)[:2000], completed_at=timezone.now()):
        _delete_segments(record)
    return TaskRecord.objects.filter(pk=record.pk).values_list("status", flat=True).first()


def _callers_tasks():
    """The tasks the current caller may see (synthesis.keys.current; all for the server's own work)."""
    return TaskRecord.objects.visible_to(keys.current())


def stop_task(step_id: str) -> tuple[TaskRecord, bool]:
    """Cancel a pending or running task of the caller's; its runner stops within one segment.
    (The record, whether this call stopped it.)"""
    record = get_task(step_id)
    stopped = False
    if record.is_active:
        stopped = TaskRecord.objects.filter(pk=record.pk, status__in=TaskRecord.ACTIVE).update(
            status=Status.CANCELLED, completed_at=timezone.now()) > 0
        with _local_lock:
            job = _local_jobs.get(step_id)
        if job is not None:
            job.cancel()
        _delete_segments(record)
        record.refresh_from_db()
    return record, stopped


def stop_all() -> int:
    """Cancel every pending or running task of the caller's; returns how many."""
    step_ids = list(_callers_tasks().filter(status__in=TaskRecord.ACTIVE).values_list("step_id", flat=True))
    for step_id in step_ids:
        stop_task(step_id)
    return len(step_ids)


def find_task(step_id: str) -> TaskRecord | None:
    """The caller's task `step_id`, or None when there is none it may see."""
    return _callers_tasks().filter(step_id=step_id).first()


def get_task(step_id: str) -> TaskRecord:
    """The caller's task `step_id`; 404 when there is none it may see."""
    record = find_task(step_id)
    if record is None:
        raise NotFound(f"Task {step_id} not found")
    return record


def resume(records) -> tuple[int, int]:
    """Put stopped runs back in the queue after their last stored segment; a task whose runs stopped
    TTS_TASK_MAX_ATTEMPTS times fails instead. Returns (resumed, failed)."""
    resumed = failed = 0
    now = timezone.now()
    for record in records:
        if record.attempts >= settings.TTS_TASK_MAX_ATTEMPTS:
            failed += TaskRecord.objects.filter(pk=record.pk, worker=record.worker, status=record.status).update(
                status=Status.FAILED, completed_at=now,
                error=f"its runner stopped {record.attempts} times (after segment "
                      f"{record.segments_done} of {record.segments_total})")
            continue
        if TaskRecord.objects.filter(pk=record.pk, worker=record.worker, status=record.status).update(
                status=Status.PENDING, worker=""):
            launch(record.pk)
            resumed += 1
    return resumed, failed


def sweep() -> dict:
    """Resume tasks whose runner stopped beating; delete results past retention."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TTS_TASK_STALE_SECONDS)
    resumed, failed = resume(TaskRecord.objects.filter(status=Status.PROCESSING, heartbeat_at__lt=stale))
    expired = 0
    cutoff = now - timedelta(hours=settings.TTS_TASK_RETENTION_HOURS)
    for record in TaskRecord.objects.filter(completed_at__lt=cutoff).exclude(status__in=TaskRecord.ACTIVE):
        if record.result:
            record.result.delete(save=False)
        _delete_segments(record)
        record.delete()
        expired += 1
    return {"resumed": resumed, "failed": failed, "expired": expired}


def resume_after_restart() -> int:
    """At start of an in-process server: tasks the last run left unfinished go on where they stopped."""
    if settings.REDIS_URL:
        return 0  # Celery workers' tasks are resumed by the sweep when their heartbeat stops
    resumed, _ = resume(TaskRecord.objects.filter(status__in=TaskRecord.ACTIVE))
    return resumed


def start_sweeper(interval: float = 60.0) -> threading.Thread:
    """Run sweep() every `interval` seconds in a daemon thread of the server process."""
    def loop():
        from django.db import connection

        while not _stop_sweeper.wait(interval):
            try:
                sweep()
            except Exception:
                logger.exception("task sweep failed")
            finally:
                connection.close()

    thread = threading.Thread(target=loop, name="tts-task-sweeper", daemon=True)
    thread.start()
    return thread


_stop_sweeper = threading.Event()
