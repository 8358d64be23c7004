"""Reference audio from a user-supplied URL, fetched without being turned against the server.

http(s) only; every address a host resolves to is checked on every hop (loopback, private,
link-local, multicast, reserved and non-global addresses refused, IPv4 embedded in IPv6 by
mapping, 6to4, Teredo or NAT64 included) and the connection goes to the address that was
checked; the size cap holds while reading; one total deadline covers the whole fetch, however
slowly a server trickles bytes; fetches run in their own small pool, so slow sources cannot
starve the rest of the server, and a client that leaves stops its fetch.
"""
from __future__ import annotations

import asyncio
import http.client
import io
import ipaddress
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

from .errors import InvalidInput, Overloaded, PayloadTooLarge
from .reference import IntakeLimits, decode_base64, looks_like_url

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_pool: ThreadPoolExecutor | None = None
_slots: threading.BoundedSemaphore | None = None
_pool_lock = threading.Lock()


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64), if any."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked(ip) -> str | None:
    """Why a server may not connect to `ip` for a client (None when it may)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            reason = blocked(inner)
            return f"{reason} (inside {ip})" if reason else None
    for attr, reason in (("is_loopback", "loopback"), ("is_link_local", "link-local"),
                         ("is_multicast", "multicast"), ("is_unspecified", "unspecified"),
                         ("is_reserved", "reserved"), ("is_private", "private")):
        if getattr(ip, attr):
            return reason
    if not ip.is_global:
        return "non-global"
    return None


def check_host(host: str, port: int, field: str, limits: IntakeLimits) -> list[str]:
    """Resolved addresses of host, all of them allowed, or an error naming why."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise InvalidInput(f"{field}: cannot resolve host {host!r}", field=field) from e
    addresses = sorted({info[4][0] for info in infos})
    if host in limits.url_allowlist:
        return addresses
    for address in addresses:
        reason = blocked(ipaddress.ip_address(address.split("%")[0]))
        if reason:
            raise InvalidInput(f"{field}: URL host {host!r} resolves to a {reason} address ({address}); "
                               "refused", field=field)
    return addresses


class _Deadline:
    """One time budget for a whole fetch; every socket operation gets what is left of it."""

    def __init__(self, seconds: float, field: str, cancelled: threading.Event | None):
        self.end = time.monotonic() + seconds
        self.seconds, self.field, self.cancelled = seconds, field, cancelled

    def left(self) -> float:
        if self.cancelled is not None and self.cancelled.is_set():
            raise InvalidInput(f"{self.field}: the request was abandoned", field=self.field)
        left = self.end - time.monotonic()
        if left <= 0:
            raise InvalidInput(f"{self.field}: the URL did not deliver within {self.seconds:.0f} s",
                               field=self.field)
        return left


def fetch_url(url: str, field: str, limits: IntakeLimits, max_redirects: int = 3,
              cancelled: threading.Event | None = None) -> bytes:
    """GET url with every hop's address checked, the size cap and one deadline enforced while reading."""
    deadline = _Deadline(limits.url_timeout, field, cancelled)
    for _ in range(max_redirects + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise InvalidInput(f"{field}: only http and https URLs are allowed", field=field)
        if not parts.hostname:
            raise InvalidInput(f"{field}: URL has no host", field=field)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise InvalidInput(f"{field}: the URL's port is not a number", field=field) from e
        addresses = check_host(parts.hostname, port, field, limits)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(parts.hostname, port, timeout=deadline.left())
        try:
            # Connect to the address that was checked, not to a second lookup's answer.
            conn.sock = socket.create_connection((addresses[0], port), timeout=deadline.left())
            if parts.scheme == "https":
                conn.sock = conn._context.wrap_socket(conn.sock, server_hostname=parts.hostname)
            location = _get(conn, parts, field, limits, deadline)
            if isinstance(location, bytes):
                return location
            url = urljoin(url, location)
        except TimeoutError as e:  # the socket waited for what was left of the deadline
            raise InvalidInput(f"{field}: the URL did not deliver within {limits.url_timeout:.0f} s",
                               field=field) from e
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise InvalidInput(f"{field}: cannot fetch URL: {e}", field=field) from e
        finally:
            conn.close()
    raise InvalidInput(f"{field}: too many redirects", field=field)


def _get(conn, parts, field: str, limits: IntakeLimits, deadline: _Deadline) -> bytes | str:
    """The body of a 200, or the Location of a redirect."""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn.request("GET", path, headers={"User-Agent": "ttsproject/1", "Host": parts.netloc})
    sock = conn.sock  # the response reads through it even after the connection lets go of it
    sock.settimeout(deadline.left())
    response = conn.getresponse()
    if response.status in (301, 302, 303, 307, 308):
        location = response.getheader("Location")
        if not location:
            raise InvalidInput(f"{field}: redirect without a Location", field=field)
        return location
    if response.status != 200:
        raise InvalidInput(f"{field}: URL answered HTTP {response.status}", field=field)
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > limits.max_bytes:
        raise PayloadTooLarge(f"{field}: URL content is larger than {limits.max_bytes} bytes", field=field)
    body = io.BytesIO()
    while True:
        sock.settimeout(deadline.left())  # a trickling source meets the same deadline
        block = response.read1(64 * 1024)
        if not block:
            return body.getvalue()
        body.write(block)
        if body.tell() > limits.max_bytes:
            raise PayloadTooLarge(f"{field}: URL content is larger than {limits.max_bytes} bytes", field=field)


def _executor(size: int) -> tuple[ThreadPoolExecutor, threading.BoundedSemaphore]:
    global _pool, _slots
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="tts-fetch")
            _slots = threading.BoundedSemaphore(size)
    return _pool, _slots


async def read_audio_source(value: str, field: str, limits: IntakeLimits, fetchers: int = 4) -> bytes:
    """Raw bytes from a string that is a URL (fetched in the fetch pool) or base64.

    All fetchers busy: 503 at once rather than a queue of slow sources. A caller that is cancelled
    (its client left) stops its fetch at the next read.
    """
    if not looks_like_url(value):
        return decode_base64(value, field, limits)
    pool, slots = _executor(fetchers)
    if not slots.acquire(blocking=False):
        raise Overloaded(f"{field}: {fetchers} reference downloads are in progress; retry shortly", retry_after=5)
    cancelled = threading.Event()

    def run() -> bytes:
        try:
            return fetch_url(value.strip(), field, limits, cancelled=cancelled)
        finally:
            slots.release()

    future = asyncio.get_running_loop().run_in_executor(pool, run)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        cancelled.set()
        raise
