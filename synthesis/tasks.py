"""Celery tasks of the synthesis app: one segment of a streamed job."""
from celery import shared_task
from celery.signals import worker_init, worker_ready


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, time_limit=600, soft_time_limit=590,
             ignore_result=True)
def render_segment(self, job_id: str, index: int) -> str:
    from . import services
    from .dispatch.redis_streams import render_planned_segment

    return render_planned_segment(services.worker_redis(), job_id, index, services.load_engine, send_segment)


def send_segment(job_id: str, index: int, queue: str, priority: int) -> None:
    """Queue one segment of a planned job (dispatch decides the queue and the priority)."""
    render_segment.apply_async((job_id, index), queue=queue, priority=priority)


@worker_init.connect
def use_local_dispatch(**kwargs):
    """Inside a worker, synthesis (async tasks too) runs in-process: never queue back to Celery."""
    from . import services

    services.WORKER_PROCESS = True


@worker_ready.connect
def load_engines_at_start(sender=None, **kwargs):
    """Workers load their engines once, before the first job, stay warm, and say they are alive."""
    from . import services
    from .dispatch.redis_streams import announce_worker

    engines = services.load_engines()
    announce_worker(services.worker_redis(), getattr(sender, "hostname", "") or "worker", list(engines))
