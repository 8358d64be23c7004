"""The Celery app. Workers: celery -A ttsproject worker (with REDIS_URL set)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ttsproject.settings")

app = Celery("ttsproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
