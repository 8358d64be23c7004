"""Make daphne abort a response whose application fails after the headers were sent.

Daphne answers an application error with a 500 page, which is impossible once a streamed
response has started: the connection then stays open until the client times out. An aborted
connection is the only honest signal left (an incomplete chunked body), so clients see an
error instead of waiting or taking a short stream for a complete one.
"""
from daphne.http_protocol import WebRequest

_original = WebRequest.handle_exception


def _handle_exception(self, exception):
    if getattr(self, "_response_started", False):
        transport = self.channel.transport if self.channel is not None else None
        if transport is not None:
            transport.abortConnection()
        return
    _original(self, exception)


def install() -> None:
    WebRequest.handle_exception = _handle_exception
