"""The key check of every API request: who calls (401), with which scope (403), within the key's
requests per minute (429); then the caller is known to the services while the request is served,
and the request is counted in its key's usage."""
from __future__ import annotations

from asgiref.sync import sync_to_async

from .. import keys, quotas, usage
from ..errors import QuotaExceeded
from .auth import bearer_token, error_response, needs_key, unauthorized_response
from .dialects import dialect_for
from .middleware import AsyncMiddleware
from .scopes import missing_scope_message, scope_for


def admit(token: str, path: str):
    """(principal, None) for a request that may proceed, else (principal or None, the refusal)."""
    principal = keys.authenticate(token)
    if principal is None:
        return None, unauthorized_response(path)
    scope = scope_for(path)
    if not principal.allows(scope):
        return principal, error_response(path, 403, missing_scope_message(scope), "insufficient_scope")
    try:
        quotas.admit_request(principal)
    except QuotaExceeded as e:
        response = error_response(path, 429, e.message, e.code)
        response["Retry-After"] = str(e.retry_after)
        return principal, response
    return principal, None


class ApiKeyMiddleware(AsyncMiddleware):
    async def __call__(self, request):
        path = request.path
        if not needs_key(path):
            return await self.get_response(request)
        if keys.known_open():  # no key anywhere: no lookup, as before keys existed
            principal, refused = keys.ANONYMOUS, None
        else:
            principal, refused = await sync_to_async(admit)(bearer_token(request.headers.get("Authorization", "")),
                                                            path)
        if refused is not None:
            return refused
        request.principal = principal
        caller = keys.set_current(principal)
        note, noting = usage.begin_request()
        try:
            response = await self.get_response(request)
        finally:
            usage.end_request(noting)
            keys.reset_current(caller)
        usage.buffer.record(principal, dialect_for(path), note.engine, requests=1)
        return response
