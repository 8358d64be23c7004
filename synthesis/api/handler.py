"""Under daphne, API requests skip the middleware only browsers need.

Django's sessions, CSRF, auth, messages, clickjacking and common middleware are sync-first: on an
ASGI server each one hops to Django's single sync thread twice per request, so a lone request waited
for a dozen thread switches and a burst of requests queued on that one thread. API paths (all behind
the key) and the health probes need none of them: keys, not cookies, authenticate them, and
synthesis.api.crosssite refuses cross-site writes. So `by_path` sends them to an `ApiHandler` built from
TTS_API_MIDDLEWARE, and everything else (the page, docs, admin, static files) to Django's own
handler with MIDDLEWARE, unchanged.
"""
from __future__ import annotations

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.middleware import security

from .auth import for_browsers
from .middleware import AsyncMiddleware


class ApiHandler(ASGIHandler):
    """Django's ASGI handler with TTS_API_MIDDLEWARE in place of MIDDLEWARE."""

    def load_middleware(self, is_async=False):
        # Django builds the chain from settings.MIDDLEWARE; this runs once, at start-up, before
        # any request, so the swap is seen by nothing else.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.TTS_API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def by_path(browser_app, api_app):
    """An ASGI app: requests for the page, docs, admin and files to `browser_app`, the rest (the API
    and the health probes) to `api_app`."""

    async def app(scope, receive, send):
        target = browser_app if for_browsers(scope.get("path", "")) else api_app
        await target(scope, receive, send)

    return app


class SecurityMiddleware(AsyncMiddleware, security.SecurityMiddleware):
    """Django's HTTPS redirect and security headers, computed on the event loop (they touch no database)."""

    def __init__(self, get_response):
        security.SecurityMiddleware.__init__(self, get_response)
        AsyncMiddleware.__init__(self, get_response)

    async def __call__(self, request):
        response = self.process_request(request) or await self.get_response(request)
        return self.process_response(request, response)


class ContentLengthMiddleware(AsyncMiddleware):
    """What clients relied on from CommonMiddleware: a Content-Length on whole responses."""

    async def __call__(self, request):
        response = await self.get_response(request)
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
