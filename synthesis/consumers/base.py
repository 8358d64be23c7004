"""What every TTS WebSocket consumer shares: API key, connection limit, job cleanup."""
from __future__ import annotations

import logging

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from ..api.auth import bearer_token, key_matches

logger = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013  # over the connection limit
CLOSE_BAD_MESSAGE = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_LARGE = 4413
CLOSE_TEXT_TOO_LONG = 4422

_open_connections = 0  # consumers all run on the server's one event loop


class TTSConsumer(AsyncWebsocketConsumer):
    """Authenticates in connect, enforces TTS_WS_MAX_CONNECTIONS, cancels work on disconnect."""

    counted = False

    def header(self, name: bytes) -> str:
        for key, value in self.scope.get("headers", []):
            if key.lower() == name:
                return value.decode("latin-1")
        return ""

    async def connect(self):
        global _open_connections
        self.jobs = []
        await self.accept()
        if not key_matches(bearer_token(self.header(b"authorization"))):
            # Accepted first so the client sees why: an error message, then close 4401.
            await self.refuse_unauthorized()
            return
        if _open_connections >= settings.TTS_WS_MAX_CONNECTIONS:
            await self.refuse_busy()
            return
        _open_connections += 1
        self.counted = True
        from ..metrics import ACTIVE_STREAMS

        ACTIVE_STREAMS.labels(dialect=self.dialect).inc()
        await self.on_open()

    async def refuse_busy(self):
        await self.close(code=CLOSE_TRY_AGAIN_LATER)

    async def refuse_unauthorized(self):
        await self.close(code=CLOSE_UNAUTHORIZED)

    async def on_open(self):
        pass

    async def disconnect(self, code):
        global _open_connections
        for job in getattr(self, "jobs", []):
            job.cancel()
        if self.counted:
            _open_connections -= 1
            self.counted = False
            from ..metrics import ACTIVE_STREAMS

            ACTIVE_STREAMS.labels(dialect=self.dialect).dec()
        await self.on_close()

    async def on_close(self):
        pass
