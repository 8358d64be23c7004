"""Interruptible sessions (seed 004): one live generation per session_id.

A new stream with the same session_id, or an interrupt, ends the previous one within one
segment. In-process the job is cancelled at once; with REDIS_URL the session's current
token lives in Redis, so a stream served by any process notices it was superseded when it
checks between segments.
"""
from __future__ import annotations

import threading
import uuid

from django.conf import settings

_KEY = "tts:session:{}"
_TTL = 3600


class Sessions:
    def __init__(self):
        self._local: dict[str, tuple[str, object]] = {}  # session_id -> (token, job)
        self._lock = threading.Lock()
        self._redis = None

    def _client(self):
        if not settings.REDIS_URL:
            return None
        if self._redis is None:
            from .redis_clients import SESSION_TIMEOUT, redis_client

            self._redis = redis_client(settings.REDIS_URL, SESSION_TIMEOUT)
        return self._redis

    def start(self, session_id: str, job) -> str:
        """Make `job` the session's live generation, interrupting the one before."""
        token = uuid.uuid4().hex
        with self._lock:
            previous = self._local.get(session_id)
            self._local[session_id] = (token, job)
        if previous is not None:
            previous[1].cancel()
        client = self._client()
        if client is not None:
            client.set(_KEY.format(session_id), token, ex=_TTL)
        return token

    def is_current(self, session_id: str, token: str) -> bool:
        with self._lock:
            entry = self._local.get(session_id)
        if entry is None or entry[0] != token:
            return False
        client = self._client()
        if client is None:
            return True
        current = client.get(_KEY.format(session_id))
        return current is not None and current.decode() == token

    def interrupt(self, session_id: str) -> bool:
        """Stop the session's live generation; False if there is none."""
        with self._lock:
            entry = self._local.pop(session_id, None)
        if entry is not None:
            entry[1].cancel()
        client = self._client()
        if client is not None:
            return bool(client.delete(_KEY.format(session_id))) or entry is not None
        return entry is not None

    def end(self, session_id: str, token: str) -> None:
        """The stream finished: forget the session if it is still ours."""
        with self._lock:
            entry = self._local.get(session_id)
            if entry is not None and entry[0] == token:
                del self._local[session_id]
        client = self._client()
        if client is not None:
            key = _KEY.format(session_id)
            with client.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    if (pipe.get(key) or b"").decode() == token:
                        pipe.multi()
                        pipe.delete(key)
                        pipe.execute()
                except Exception:  # a concurrent restart took the key: nothing to clean
                    pipe.reset()


sessions = Sessions()
