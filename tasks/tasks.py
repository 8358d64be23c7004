"""Celery tasks: thin wrappers around tasks.services."""
from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=False, time_limit=3600, soft_time_limit=3500)
def run_generation(self, task_pk: int) -> str:
    return services.run_task(task_pk)


@shared_task(acks_late=True, time_limit=300)
def sweep_tasks() -> dict:
    return services.sweep()
