"""Request metrics and the per-client-IP rate limit, for every dialect."""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .. import keys, metrics
from .auth import error_response, needs_key
from .dialects import dialect_for

UNITS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600}
UNMETERED = ("/static/", "/admin/", "/metrics", "/favicon.ico")


def parse_rate(rate: str) -> tuple[int, int] | None:
    """'10/minute' -> (10, 60); '' -> None."""
    if not rate:
        return None
    try:
        count, unit = rate.split("/")
        return int(count), UNITS[unit.strip().lower()]
    except (ValueError, KeyError) as e:
        raise ImproperlyConfigured(f"TTS_RATE_LIMIT must look like '10/minute', got {rate!r}") from e


class RateLimiter:
    """Sliding window of request times per client IP, bounded in the number of IPs kept."""

    def __init__(self, max_clients: int = 10000):
        self._hits: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()
        self._max_clients = max_clients

    def check(self, client: str, limit: int, window: int) -> float:
        """0 if allowed (and counted), else seconds until the next request is allowed."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.pop(client, None) or deque()
            while hits and hits[0] <= now - window:
                hits.popleft()
            self._hits[client] = hits
            if len(self._hits) > self._max_clients:
                self._hits.popitem(last=False)
            if len(hits) >= limit:
                return max(0.001, hits[0] + window - now)
            hits.append(now)
            return 0.0

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


limiter = RateLimiter()


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


class AsyncMiddleware:
    """Base of the project's middleware: async only, as the whole stack is (no thread hop per request)."""

    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)


class MetricsAndLimitsMiddleware(AsyncMiddleware):

    async def __call__(self, request):
        path = request.path
        if not needs_key(path) or path.startswith(UNMETERED):
            return await self.get_response(request)
        refused = self.rate_limited(request)
        if refused is not None:
            return refused
        start = time.monotonic()
        response = await self.get_response(request)
        match = getattr(request, "resolver_match", None)
        labels = {"endpoint": f"/{match.route}" if match else "unmatched", "dialect": dialect_for(path)}
        metrics.REQUEST_COUNT.labels(**labels).inc()
        if response.streaming:
            response.streaming_content = _observed(response.streaming_content, labels, start, response.status_code)
        else:
            _finish(labels, start, response.status_code)
        return response

    def rate_limited(self, request):
        rate = parse_rate(settings.TTS_RATE_LIMIT)
        if rate is None:
            return None
        if settings.TTS_RATE_LIMIT_SCOPE == "unauthenticated" and getattr(request, "principal", None) not in (
                None, keys.ANONYMOUS):
            return None  # a key's own quota applies instead
        wait = limiter.check(client_ip(request), *rate)
        if not wait:
            return None
        response = error_response(request.path, 429, f"Rate limit of {settings.TTS_RATE_LIMIT} per client exceeded",
                                  "rate_limited")
        response["Retry-After"] = str(math.ceil(wait))
        return response


def _finish(labels: dict, start: float, status: int) -> None:
    metrics.REQUEST_LATENCY.labels(**labels).observe(time.monotonic() - start)
    (metrics.REQUEST_SUCCESS if status < 400 else metrics.REQUEST_FAILURE).labels(**labels).inc()


async def _observed(content, labels: dict, start: float, status: int):
    gauge = metrics.ACTIVE_STREAMS.labels(dialect=labels["dialect"])
    gauge.inc()
    failed = False
    try:
        if hasattr(content, "__aiter__"):
            async for part in content:
                yield part
        else:
            for part in content:
                yield part
    except BaseException:
        failed = True
        raise
    finally:
        gauge.dec()
        _finish(labels, start, 500 if failed else status)
