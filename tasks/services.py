"""Async generation tasks: create, run, stop, sweep. Views, admin and Celery call these."""
from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from synthesis import services as synthesis
from synthesis.audio.encoders import make_encoder
from synthesis.errors import Conflict, NotFound
from synthesis.types import SynthesisRequest

from .models import TaskRecord

logger = logging.getLogger(__name__)
Status = TaskRecord.Status

_local_jobs: dict[str, object] = {}  # step_id -> Job running in this process
_local_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def create_task(step_id: str, request: SynthesisRequest, fmt: str, fields: dict) -> TaskRecord:
    """Record a task and start it. `fields` is the request as the client sent it (for display)."""
    synthesis.check_request(request)
    params = {"fields": fields, "request": request.to_dict()}
    try:
        with transaction.atomic():
            record = TaskRecord.objects.create(step_id=step_id, params=params, format=fmt,
                                               engine=request.turns[0].voice.engine)
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
    now = timezone.now()
    updated = TaskRecord.objects.filter(pk=task_pk, status=Status.PENDING).update(
        status=Status.PROCESSING, started_at=now, heartbeat_at=now, worker=f"{socket.gethostname()}:{os.getpid()}")
    return TaskRecord.objects.get(pk=task_pk) if updated else None


def run_task(task_pk: int) -> str:
    """Synthesize a task's audio into its result file; returns the final status."""
    record = _claim(task_pk)
    if record is None:
        return TaskRecord.objects.filter(pk=task_pk).values_list("status", flat=True).first() or "not_found"
    try:
        job = synthesis.start_synthesis(SynthesisRequest.from_dict(record.params["request"]))
    except Exception as e:
        return _fail(task_pk, e)
    with _local_lock:
        _local_jobs[record.step_id] = job
    try:
        return _collect(record, job)
    finally:
        with _local_lock:
            _local_jobs.pop(record.step_id, None)


def _collect(record: TaskRecord, job) -> str:
    encoder = make_encoder(record.format, job.sample_rate, streaming=False)
    parts, samples = [], 0
    try:
        for chunk in job:
            parts.append(encoder.feed(chunk.samples))
            samples += len(chunk.samples)
            if not _heartbeat(record.pk):  # stopped from elsewhere: stop within this segment
                job.cancel()
                return Status.CANCELLED
        if job.cancelled:
            return _mark_cancelled(record.pk)
        parts.append(encoder.finish())
    except Exception as e:
        job.cancel()
        return _fail(record.pk, e)
    data = b"".join(parts)
    with transaction.atomic():
        current = TaskRecord.objects.select_for_update().get(pk=record.pk)
        if current.status != Status.PROCESSING:
            return current.status
        current.result.save(f"{record.step_id}.{record.format}".replace("/", "_"), ContentFile(data), save=False)
        current.status = Status.COMPLETED
        current.completed_at = timezone.now()
        current.audio_duration = samples / job.sample_rate
        current.save()
    return Status.COMPLETED


def _heartbeat(task_pk: int) -> bool:
    """Touch the heartbeat; False when the task is no longer processing (stopped)."""
    return bool(TaskRecord.objects.filter(pk=task_pk, status=Status.PROCESSING).update(
        heartbeat_at=timezone.now()))


def _fail(task_pk: int, error: BaseException) -> str:
    logger.warning("task %s failed: %s", task_pk, error)
    TaskRecord.objects.filter(pk=task_pk, status__in=TaskRecord.ACTIVE).update(
        status=Status.FAILED, error=str(error)[:2000], completed_at=timezone.now())
    return Status.FAILED


def _mark_cancelled(task_pk: int) -> str:
    TaskRecord.objects.filter(pk=task_pk, status__in=TaskRecord.ACTIVE).update(
        status=Status.CANCELLED, completed_at=timezone.now())
    return Status.CANCELLED


def stop_task(step_id: str) -> TaskRecord:
    """Cancel a pending or running task; its worker stops within one segment."""
    record = TaskRecord.objects.filter(step_id=step_id).first()
    if record is None:
        raise NotFound(f"Task {step_id} not found")
    if record.is_active:
        _mark_cancelled(record.pk)
        with _local_lock:
            job = _local_jobs.get(step_id)
        if job is not None:
            job.cancel()
        record.refresh_from_db()
    return record


def stop_all() -> int:
    """Cancel every pending or running task; returns how many."""
    step_ids = list(TaskRecord.objects.filter(status__in=TaskRecord.ACTIVE).values_list("step_id", flat=True))
    for step_id in step_ids:
        stop_task(step_id)
    return len(step_ids)


def get_task(step_id: str) -> TaskRecord:
    record = TaskRecord.objects.filter(step_id=step_id).first()
    if record is None:
        raise NotFound(f"Task {step_id} not found")
    return record


def sweep() -> dict:
    """Fail tasks whose worker stopped beating; delete results past retention."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TTS_TASK_STALE_SECONDS)
    failed = TaskRecord.objects.filter(status=Status.PROCESSING, heartbeat_at__lt=stale).update(
        status=Status.FAILED, error="worker stopped responding", completed_at=now)
    expired = 0
    cutoff = now - timedelta(hours=settings.TTS_TASK_RETENTION_HOURS)
    for record in TaskRecord.objects.filter(completed_at__lt=cutoff).exclude(status__in=TaskRecord.ACTIVE):
        if record.result:
            record.result.delete(save=False)
        record.delete()
        expired += 1
    return {"failed": failed, "expired": expired}


def fail_orphans_of_this_process_mode() -> int:
    """At start of an in-process server: tasks left processing by a previous run cannot finish."""
    if settings.REDIS_URL:
        return 0
    return TaskRecord.objects.filter(status__in=TaskRecord.ACTIVE).update(
        status=Status.FAILED, error="server restarted before the task finished", completed_at=timezone.now())



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
