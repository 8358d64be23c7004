"""Per-key quotas: requests per minute and characters per day, counted in Redis when REDIS_URL is
set (so every web process and worker shares one count), in this process otherwise."""
from __future__ import annotations

import logging
import math
import threading
import time

from django.conf import settings
from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from .errors import QuotaExceeded
from .keys import Principal

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_built: tuple[str, MovingWindowRateLimiter, FixedWindowRateLimiter] | None = None


def _limiters() -> tuple[MovingWindowRateLimiter, FixedWindowRateLimiter]:
    """(requests limiter, characters limiter) over the storage REDIS_URL names."""
    global _built
    url = settings.REDIS_URL or "memory://"
    with _lock:
        if _built is None or _built[0] != url:
            options = {"key_prefix": "tts-quota"} if url.startswith("redis") else {}
            storage = storage_from_string(url, **options)
            _built = (url, MovingWindowRateLimiter(storage), FixedWindowRateLimiter(storage))
        return _built[1], _built[2]


def reset() -> None:
    """Let go of the storage: counts kept in this process are forgotten; Redis keeps its own (tests)."""
    global _built
    with _lock:
        if _built is not None and _built[0] == "memory://":
            _built[1].storage.reset()  # also ends the storage's expiry thread
        _built = None


def _retry_after(limiter, item, *identifiers: str) -> int:
    reset_at = limiter.get_window_stats(item, *identifiers).reset_time
    return max(1, math.ceil(reset_at - time.time()))


def admit_request(principal: Principal) -> None:
    """Count one request against the key's requests per minute; QuotaExceeded when they are used up."""
    if principal.key_id is None or not principal.requests_per_minute:
        return
    requests, _ = _limiters()
    item, key = RateLimitItemPerMinute(principal.requests_per_minute), str(principal.key_id)
    try:
        if requests.hit(item, "requests", key):
            return
        wait = _retry_after(requests, item, "requests", key)
    except Exception:  # a quota store that is down must not take the service down with it
        logger.exception("request quota of key %r not checked", principal.name)
        return
    raise QuotaExceeded(f"API key {principal.name!r} is over its {principal.requests_per_minute} requests "
                        "per minute", retry_after=wait)


def charge_characters(principal: Principal | None, count: int) -> None:
    """Count `count` characters against the key's characters per day, or refuse them all
    (QuotaExceeded) when they do not fit in what is left."""
    if principal is None or principal.key_id is None or not principal.characters_per_day:
        return
    _, characters = _limiters()
    item, key = RateLimitItemPerDay(principal.characters_per_day), str(principal.key_id)
    try:
        # test first: a refused request must not use up what is left (hit counts even when over)
        if characters.test(item, "characters", key, cost=count) and characters.hit(item, "characters", key,
                                                                                  cost=count):
            return
        left = characters.get_window_stats(item, "characters", key).remaining
        wait = _retry_after(characters, item, "characters", key)
    except Exception:
        logger.exception("character quota of key %r not checked", principal.name)
        return
    raise QuotaExceeded(f"API key {principal.name!r} has {left} of its {principal.characters_per_day} characters "
                        f"per day left; this request has {count}", retry_after=wait)
