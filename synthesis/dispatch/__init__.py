"""Dispatchers: submit a request, iterate its audio chunks, cancel it."""
from .base import Dispatcher, Job, SynthesisFailed  # noqa: F401
from .local import LocalDispatcher  # noqa: F401
