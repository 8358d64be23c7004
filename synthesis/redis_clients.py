"""The one place Redis clients are made, so every caller gets the same retry and health checks.

Timeouts (seconds a socket read or connect may take), by who waits:
- SESSION_TIMEOUT: a request looking up its realtime session; better to fail fast than hang a request.
- RELAY_TIMEOUT: a web process relaying a job's stream; long enough to ride out a busy Redis.
- WORKER_TIMEOUT: a Celery worker writing audio; it has nobody waiting on a socket, so it waits longest.
"""
from __future__ import annotations

SESSION_TIMEOUT = 2.0
RELAY_TIMEOUT = 5.0
WORKER_TIMEOUT = 10.0
_OPTIONS = {"retry_on_timeout": True, "health_check_interval": 10}


def redis_client(url: str, timeout: float):
    """A blocking client for `url` whose socket reads and connects give up after `timeout` seconds."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, **_OPTIONS)


def async_redis_client(url: str, timeout: float):
    """An asyncio client (bound to the loop it is first used on), with the same options."""
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, **_OPTIONS)
