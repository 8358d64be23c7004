"""What the API-key checks share: which paths need a key, the bearer token, errors in the path's dialect.

The checks themselves: synthesis.api.access (Django middleware), synthesis.api.guard (before a body
is read), the WebSocket consumers' connect.
"""
from __future__ import annotations

from django.http import JsonResponse

from .dialects import dialect_for

PROBE_PATHS = {"/healthz", "/health", "/liveness", "/readiness", "/v1/health", "/api/healthz"}
BROWSER_PATHS = {"/", "/ui", "/favicon.ico"}
PUBLIC_PREFIXES = ("/static/", "/admin/", "/media/", "/docs", "/openapi.json")  # /media/: staff session


def bearer_token(header: str) -> str:
    """The token of an `Authorization: Bearer <token>` header ('' if absent)."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.rstrip(";").lower() != "bearer":
        return ""
    return token.strip()


def error_body(path: str, message: str, code: str) -> dict:
    """An error outside any view (auth, limits), in the error shape of the path's dialect."""
    dialect = dialect_for(path)
    if dialect == "openai":
        return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    if dialect == "lighttts":
        return {"message": message, "detail": message, "error_code": code.upper()}
    return {"detail": message}


def error_response(path: str, status: int, message: str, code: str) -> JsonResponse:
    return JsonResponse(error_body(path, message, code), status=status)


def for_browsers(path: str) -> bool:
    """The page, docs, admin, static and media files: what Django's sessions, CSRF and auth serve."""
    return path in BROWSER_PATHS or path.startswith(PUBLIC_PREFIXES)


def needs_key(path: str) -> bool:
    """Whether a path is behind the API key (when one is set): all but probes, the page, docs, admin."""
    return not (path in PROBE_PATHS or for_browsers(path))


UNAUTHORIZED_MESSAGE = "Invalid or missing API key: send Authorization: Bearer <key>"


def unauthorized_response(path: str) -> JsonResponse:
    response = error_response(path, 401, UNAUTHORIZED_MESSAGE, "invalid_api_key")
    response["WWW-Authenticate"] = "Bearer"
    return response
