"""What browsers may do with the API: no CSRF cookie, no cross-site writes, CORS only where allowed.

API clients authenticate by key (or by being on the operator's machine), never by a cookie, so
Django's CSRF cookie check does not apply to them (the admin keeps it). With no key at all, a
browser page on another site could still post to a local server: a state-changing request whose
Origin (or Referer) names a foreign site is refused unless TTS_CORS_ALLOWED_ORIGINS lists it.
Listed origins get CORS headers and preflight answers on API paths (never on the admin).
Every response carries an X-Request-Id (the client's, if it sent a sane one) for the logs.
"""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse

from .. import keys, streaming
from .auth import error_response
from .middleware import AsyncMiddleware

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
BROWSER_ONLY = ("/admin/",)  # session-authenticated: Django's CSRF check stays
EXPOSED = "Content-Disposition, X-Session-Id, X-Sample-Rate, X-Request-Id, Retry-After"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def origin_of(request) -> str:
    """scheme://host[:port] of the page that sent the request ('' when not a browser's)."""
    origin = request.headers.get("Origin", "")
    if not origin or origin == "null":
        referer = request.headers.get("Referer", "")
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else origin
    return origin.rstrip("/").lower()


def is_same_origin(request, origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.netloc == request.get_host().lower() and parts.scheme in ("http", "https")


def allowed_origin(origin: str) -> bool:
    allowed = [o.rstrip("/").lower() for o in settings.TTS_CORS_ALLOWED_ORIGINS]
    return bool(origin) and ("*" in allowed or origin in allowed)


class CrossSiteMiddleware(AsyncMiddleware):
    """Before the key and CSRF checks: request id, preflight, cross-site write refusal, CORS headers."""

    async def __call__(self, request):
        sent = request.headers.get("X-Request-Id", "")
        request.request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        streaming.request_id.set(request.request_id)
        response = await self.respond(request)
        response["X-Request-Id"] = request.request_id
        return response

    async def respond(self, request):
        if request.path.startswith(BROWSER_ONLY):
            return await self.get_response(request)
        request._dont_enforce_csrf_checks = True  # no cookie-authenticated API path
        origin = origin_of(request)
        cors = allowed_origin(origin)
        if request.method == "OPTIONS" and cors and request.headers.get("Access-Control-Request-Method"):
            return self.cors(HttpResponse(status=204), origin, preflight=True)
        if (request.method not in SAFE_METHODS and origin and not cors and not is_same_origin(request, origin)
                and not await sync_to_async(keys.keys_required)()):
            return error_response(request.path, 403, f"Cross-site request from {origin} refused: this server "
                                  "has no API key, so only pages it serves (or TTS_CORS_ALLOWED_ORIGINS) may "
                                  "change or use it", "cross_site_refused")
        response = await self.get_response(request)
        return self.cors(response, origin) if cors else response

    @staticmethod
    def cors(response, origin: str, preflight: bool = False):
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
        response["Access-Control-Expose-Headers"] = EXPOSED
        if preflight:
            response["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Accept, X-Request-Id"
            response["Access-Control-Max-Age"] = "600"
        return response
