"""API keys: who is calling, what they may do, and the checks that run before a body is read.

A request's caller is a `Principal`: the server's full-access key (TTS_API_KEY), a person's
`ApiKey`, or, on a server that has no key at all, an anonymous caller with today's open access.
The caller of the request or WebSocket message being served sits in a context variable, so the
catalog and the quotas deep in the services see it without every dialect passing it along.
"""
from __future__ import annotations

import contextvars
import hashlib
import hmac
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

TOKEN_PREFIX = "tts_"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who a request comes from. `key_id` is None for the full-access key and the anonymous caller."""

    name: str
    scopes: frozenset = field(default_factory=frozenset)
    key_id: int | None = None
    owner_id: int | None = None
    requests_per_minute: int | None = None
    characters_per_day: int | None = None
    full_access: bool = False

    def allows(self, scope: str) -> bool:
        return self.full_access or "admin" in self.scopes or scope in self.scopes

    @property
    def sees_everything(self) -> bool:
        """Every voice and every task, not only its owner's (the full-access key, admin keys)."""
        return self.full_access or "admin" in self.scopes


SERVER_KEY = Principal("TTS_API_KEY", full_access=True)
ANONYMOUS = Principal("anonymous", full_access=True)  # only on a server with no key at all

_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("tts_principal", default=None)


def current() -> Principal | None:
    """The caller of the request being served; None for the server's own work (admin, task runners)."""
    return _current.get()


def set_current(principal: Principal | None) -> contextvars.Token:
    return _current.set(principal)


def reset_current(token: contextvars.Token) -> None:
    _current.reset(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random key: 32 bytes of entropy, so a plain sha256 of it is safe to store."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_key(name: str, owner, scopes, *, requests_per_minute: int | None = None,
               characters_per_day: int | None = None, expires_at=None):
    """Create an ApiKey; returns (key, token). The token is not stored and cannot be shown again."""
    from .models import SCOPES, ApiKey

    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}; scopes are {', '.join(SCOPES)}")
    token = new_token()
    key = ApiKey.objects.create(name=name, owner=owner, scopes=sorted(set(scopes)), prefix=token[:12],
                                digest=digest(token), requests_per_minute=requests_per_minute,
                                characters_per_day=characters_per_day, expires_at=expires_at)
    forget_cached()
    return key, token


def assign_token(key) -> str:
    """Give an unsaved (or existing) key a new token, stored as its digest; returns the token."""
    token = new_token()
    key.prefix, key.digest = token[:12], digest(token)
    forget_cached()
    return token


def revoke(queryset) -> int:
    """Revoke keys now: the next request with one of them is refused in every process."""
    count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    forget_cached()
    return count


def principal_of(key) -> Principal:
    return Principal(key.name, frozenset(key.scopes or ()), key.pk, key.owner_id, key.requests_per_minute,
                     key.characters_per_day)


def server_key_matches(token: str) -> bool:
    key = settings.TTS_API_KEY
    return bool(key) and bool(token) and hmac.compare_digest(token.encode(), key.encode())


def authenticate(token: str) -> Principal | None:
    """The caller a bearer token names, read fresh from the database (so revocation is immediate);
    ANONYMOUS on a server without keys; None when a key is needed and this one is not valid."""
    from .models import ApiKey

    if server_key_matches(token):
        return SERVER_KEY
    if token:
        key = ApiKey.objects.active().filter(digest=digest(token)).first()
        if key is not None:
            return principal_of(key)
    return None if keys_required() else ANONYMOUS


def key_is_active(key_id: int) -> bool:
    """Whether the key is still neither revoked nor expired (read fresh from the database)."""
    from .models import ApiKey

    return ApiKey.objects.active().filter(pk=key_id).exists()


# Early checks (daphne's reactor thread, the ASGI body guard) cannot wait on the database for
# long, and may not touch the ORM from a thread running an event loop: they ask a helper thread
# and remember answers briefly. They only decide whether a body is worth reading; the Django
# middleware then checks the key again against the database.
CACHE_SECONDS = 5.0
_lookups = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts-key-lookup")
_cache: dict[str, tuple[float, bool]] = {}
_cache_lock = threading.Lock()
_MAX_CACHED = 10000


def forget_cached() -> None:
    with _cache_lock:
        _cache.clear()


def _cached(name: str, compute) -> bool:
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(name)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = _off_loop(compute)
    with _cache_lock:
        if len(_cache) >= _MAX_CACHED:
            _cache.clear()
        _cache[name] = (now + CACHE_SECONDS, value)
    return value


def _off_loop(compute) -> bool:
    """Run `compute` (ORM work) here, or on the helper thread when this thread runs an event loop."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return compute()
    return _lookups.submit(_closing(compute)).result(timeout=10)


def _closing(compute):
    def run():
        from django.db import close_old_connections

        try:
            return compute()
        finally:
            close_old_connections()
    return run


def _any_key_exists() -> bool:
    from .models import ApiKey

    return ApiKey.objects.exists()


def keys_required() -> bool:
    """Whether callers need a key: TTS_API_KEY is set or any ApiKey was ever made (a revoked one
    included, so revoking the last key never opens the server)."""
    return bool(settings.TTS_API_KEY) or _cached("any-key", _any_key_exists)


def known_open() -> bool:
    """True when, as last checked, the server has no key at all (so no lookup is needed now)."""
    if settings.TTS_API_KEY:
        return False
    with _cache_lock:
        hit = _cache.get("any-key")
    return hit is not None and hit[0] > time.monotonic() and not hit[1]


def may_pass_early(token: str) -> bool:
    """Whether a request with this bearer token may have its body read (a cached, cheap check).
    When the database cannot answer, the request goes on to the middleware, which decides."""
    try:
        if not keys_required() or server_key_matches(token):
            return True
        if not token.startswith(TOKEN_PREFIX):
            return False
        wanted = digest(token)

        def valid() -> bool:
            from .models import ApiKey

            return ApiKey.objects.active().filter(digest=wanted).exists()
        return _cached(wanted, valid)
    except Exception:
        logger.exception("early API key check failed; the key middleware will check this request")
        return True
