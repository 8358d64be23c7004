"""Daphne hooks: refuse bodies before they are read, and abort a response whose application fails
after its headers were sent.

Twisted buffers a whole request body before daphne hands the request to the application; here the
request is judged when its headers are in (synthesis.api.guard.refusal: the API key, the declared
size) and per chunk while the body streams, and refused with the answer written straight to the
connection, which is then closed, so nothing more is stored.

Daphne answers an application error with a 500 page, which is impossible once a streamed response
has started: the connection would stay open until the client times out. An aborted connection is
the only honest signal left then.
"""
from daphne.http_protocol import WebRequest
from twisted.web import http

_original_exception = WebRequest.handle_exception


def _handle_exception(self, exception):
    if getattr(self, "_response_started", False):
        transport = self.channel.transport if self.channel is not None else None
        if transport is not None:
            transport.abortConnection()
        return
    _original_exception(self, exception)


def _refuse(self, status: int, body: bytes, headers) -> None:
    from synthesis.api.guard import http_response

    self._tts_refused = True
    transport = self.channel.transport if self.channel is not None else None
    if transport is not None:
        transport.write(http_response(status, body, headers))
        transport.loseConnection()


def _got_length(self, length):
    from synthesis.api.guard import refusal

    self._tts_received = 0
    path = (self.channel._path or b"/").split(b"?", 1)[0].decode("latin-1")
    auth = (self.requestHeaders.getRawHeaders(b"authorization") or [b""])[0].decode("latin-1")
    upgrade = (self.requestHeaders.getRawHeaders(b"upgrade") or [b""])[0].lower() == b"websocket"
    refused = refusal(path, self.channel._command.decode("latin-1"), auth, length, websocket=upgrade)
    if refused:
        return _refuse(self, *refused)
    return http.Request.gotLength(self, length)


def _handle_content_chunk(self, data):
    from synthesis.api.guard import body_limit, too_large

    if getattr(self, "_tts_refused", False):
        return  # refused: the rest is dropped, not stored
    self._tts_received = getattr(self, "_tts_received", 0) + len(data)
    path = (self.channel._path or b"/").split(b"?", 1)[0].decode("latin-1")
    if self._tts_received > body_limit(path):
        return _refuse(self, *too_large(path))
    return http.Request.handleContentChunk(self, data)


def _request_received(self, command, path, version):
    if getattr(self, "_tts_refused", False):
        return  # answered already: the application never sees it
    return http.Request.requestReceived(self, command, path, version)


def install() -> None:
    WebRequest.handle_exception = _handle_exception
    WebRequest.gotLength = _got_length
    WebRequest.handleContentChunk = _handle_content_chunk
    WebRequest.requestReceived = _request_received
