"""What every TTS WebSocket consumer shares: API key and scope, connection limit, job cleanup."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from asgiref.sync import sync_to_async

from .. import keys, quotas, usage
from ..api.auth import bearer_token
from ..api.scopes import missing_scope_message, scope_for
from ..errors import QuotaExceeded

logger = logging.getLogger(__name__)

# The WebSocket layer (autobahn) lets a server close only with 1000 or 3000-4999, so the failures
# HTTP would answer 500 and 503 close with 4500 and 4503.
CLOSE_NORMAL = 1000
CLOSE_SERVER_ERROR = 4500
CLOSE_TRY_AGAIN_LATER = 4503  # over the connection limit
CLOSE_BAD_MESSAGE = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403  # a key without the scope
CLOSE_QUOTA = 4429  # a key over its requests per minute
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_LARGE = 4413
CLOSE_TEXT_TOO_LONG = 4422

_open_connections = 0  # consumers all run on the server's one event loop


class NoSuchPath(AsyncWebsocketConsumer):
    """A WebSocket to a path with no endpoint: accepted, then closed 4404 (it was an HTTP 500 and a
    traceback in the log)."""

    async def connect(self):
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)


class TTSConsumer(AsyncWebsocketConsumer):
    """Authenticates in connect, enforces TTS_WS_MAX_CONNECTIONS, cancels work and frees the slot on
    every way a connection ends (a disconnect, a close, an error in a handler)."""

    counted = False
    jobs: list = []
    principal: keys.Principal | None = None

    def header(self, name: bytes) -> str:
        for key, value in self.scope.get("headers", []):
            if key.lower() == name:
                return value.decode("latin-1")
        return ""

    async def connect(self):
        global _open_connections
        self.jobs = []
        await self.accept()
        # Accepted first so the client sees why: an error message, then close 4401, 4403 or 4429.
        if not await self.admitted():
            return
        if await self.foreign_origin():
            await self.refuse_forbidden("a page of another site may not open this connection without an API key")
            return
        if _open_connections >= settings.TTS_WS_MAX_CONNECTIONS:
            await self.refuse_busy()
            return
        _open_connections += 1
        self.counted = True
        from ..metrics import ACTIVE_STREAMS

        ACTIVE_STREAMS.labels(dialect=self.dialect).inc()
        await self.on_open()

    async def admitted(self) -> bool:
        """Whether the handshake's key may open this WebSocket (refused with the reason if not); the
        key's caller is then known to the services for the whole connection."""
        principal = await sync_to_async(keys.authenticate)(bearer_token(self.header(b"authorization")))
        if principal is None:
            await self.refuse_unauthorized()
            return False
        scope = scope_for(self.scope["path"])
        if not principal.allows(scope):
            await self.refuse_forbidden(missing_scope_message(scope))
            return False
        try:
            await sync_to_async(quotas.admit_request, thread_sensitive=False)(principal)
        except QuotaExceeded as e:
            await self.refuse_quota(e.message)
            return False
        self.principal = principal
        keys.set_current(principal)  # this connection's task (and the tasks it starts) serve this caller
        usage.buffer.record(principal, self.dialect, requests=1)
        return True

    async def key_still_valid(self) -> bool:
        """A person's key is read again before each message is handled, so a revocation or expiry
        ends an open connection at its next message, as it refuses the next HTTP request."""
        if self.principal is None or self.principal.key_id is None:
            return True
        return await sync_to_async(keys.key_is_active)(self.principal.key_id)

    async def foreign_origin(self) -> bool:
        """With no key, a browser page of another site may not open a connection (its Origin says so)."""
        from ..api.crosssite import allowed_origin

        origin = self.header(b"origin").rstrip("/").lower()
        if not origin or allowed_origin(origin) or urlsplit(origin).netloc == self.header(b"host").lower():
            return False
        return not await sync_to_async(keys.keys_required)()

    async def refuse_busy(self):
        await self.close(code=CLOSE_TRY_AGAIN_LATER)

    async def refuse_unauthorized(self):
        await self.close(code=CLOSE_UNAUTHORIZED)

    async def refuse_forbidden(self, message: str):
        await self.close(code=CLOSE_FORBIDDEN)

    async def refuse_quota(self, message: str):
        await self.close(code=CLOSE_QUOTA)

    async def on_open(self):
        pass

    async def dispatch(self, message):
        """Any error in a handler ends this connection, never the slot accounting."""
        if message.get("type") == "websocket.receive" and not self.counted:
            return  # refused at the handshake (or released), its close sent: what the client sent is not handled
        if self.principal is not None:
            keys.set_current(self.principal)
        if message.get("type") == "websocket.receive" and not await self.key_still_valid():
            await self.release()  # revoked or expired since the handshake: no more work on it
            await self.refuse_unauthorized()
            raise StopConsumer()
        try:
            await super().dispatch(message)
        except StopConsumer:
            await self.release()
            raise
        except Exception:
            logger.exception("WebSocket %s: handler failed on %s", self.dialect, message.get("type"))
            await self.release()
            try:
                await self.close(code=CLOSE_SERVER_ERROR)
            except Exception:  # the connection may be gone already
                pass
            raise StopConsumer() from None

    async def disconnect(self, code):
        await self.release()

    async def release(self):
        """Cancel this connection's work and free its slot (once)."""
        global _open_connections
        for job in self.jobs:
            job.cancel()
        self.jobs = []
        if self.counted:
            _open_connections -= 1
            self.counted = False
            from ..metrics import ACTIVE_STREAMS

            ACTIVE_STREAMS.labels(dialect=self.dialect).dec()
            await self.on_close()

    async def on_close(self):
        pass
