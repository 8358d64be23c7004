"""What can be refused before a request body is read is: a missing key, a body over the limit.

Daphne (Twisted) takes in a whole body before the application sees the request, and Django then
reads it again, so a client without the key could make the server hold half a gigabyte just to
answer 401. The same decision is made at two depths: in daphne as soon as the headers are in
(and per chunk while the body streams), and in front of Django as ASGI middleware for any other
ASGI server. Errors come in the path's dialect. Whether a key is valid is looked up here with a
few seconds' cache (synthesis.keys.may_pass_early); the Django middleware checks it again,
uncached and with its scopes, so a revoked key is refused at once either way.
"""
from __future__ import annotations

import json

from django.conf import settings

from .. import keys
from .auth import UNAUTHORIZED_MESSAGE, bearer_token, error_body, needs_key

# Paths whose bodies may carry reference audio (uploads, base64 in JSON or forms, msgpack bytes).
AUDIO_PATHS = ("/clone_voice", "/v1/clone_voice", "/add_speaker", "/v1/add_speaker", "/v1/audio/speech",
               "/v1/tts", "/v1/references/add", "/v1/vqgan/", "/inference_zero_shot",
               "/generate_audio_enhanced_async", "/admin/")


def body_limit(path: str) -> int:
    """Bytes a request body to `path` may have."""
    if path.startswith(AUDIO_PATHS):
        return settings.TTS_MAX_UPLOAD_BYTES * 4 // 3 + 1024 * 1024  # base64 and form overhead
    return settings.TTS_MAX_BODY_BYTES


def refusal(path: str, method: str, authorization: str, length: int | None, websocket: bool = False):
    """(status, body bytes, extra headers) refusing a request from its head alone, or None."""
    if method != "OPTIONS" and not websocket and needs_key(path) \
            and not keys.may_pass_early(bearer_token(authorization)):
        return 401, encode(path, UNAUTHORIZED_MESSAGE, "invalid_api_key"), [(b"WWW-Authenticate", b"Bearer")]
    limit = body_limit(path)
    if length is not None and length > limit:
        return 413, encode(path, f"the request body is {length} bytes; the limit here is {limit}",
                           "payload_too_large"), []
    return None


def too_large(path: str) -> tuple[int, bytes, list]:
    return 413, encode(path, f"the request body is over the limit of {body_limit(path)} bytes here",
                       "payload_too_large"), []


def encode(path: str, message: str, code: str) -> bytes:
    return json.dumps(error_body(path, message, code)).encode()


def http_response(status: int, body: bytes, headers) -> bytes:
    """A whole HTTP/1.1 response that closes the connection (for refusing before the body is read)."""
    reason = {401: b"Unauthorized", 413: b"Payload Too Large"}.get(status, b"Error")
    lines = [b"HTTP/1.1 %d %s" % (status, reason), b"Content-Type: application/json",
             b"Content-Length: %d" % len(body), b"Connection: close", *(k + b": " + v for k, v in headers)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class BodyGuard:
    """ASGI middleware: the same refusals in front of Django, counting a streamed body as it arrives."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        headers = {key.lower(): value for key, value in scope.get("headers", [])}
        declared = headers.get(b"content-length", b"")
        refused = refusal(path, scope.get("method", ""), headers.get(b"authorization", b"").decode("latin-1"),
                          int(declared) if declared.isdigit() else None)
        if refused:
            return await self.refuse(send, *refused)
        limit, received, done = body_limit(path), 0, False

        async def counted_receive():
            nonlocal received, done
            message = await receive()
            if message["type"] == "http.request" and not done:
                received += len(message.get("body", b""))
                if received > limit:
                    done = True
                    await self.refuse(send, *too_large(path))
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing more
            return message

        await self.app(scope, counted_receive, send)

    @staticmethod
    async def refuse(send, status: int, body: bytes, headers) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), *headers]})
        await send({"type": "http.response.body", "body": body})
