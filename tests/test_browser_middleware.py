"""Under daphne's ASGI application, Django's sessions, CSRF, auth and messages run for the page, docs
and admin, and API paths and probes go through their own short chain (no hop to Django's sync thread per
middleware), keeping the security headers, Content-Length, the key check and CORS."""
import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.contrib.sessions.middleware import SessionMiddleware

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session_paths(monkeypatch):
    """Paths Django's session middleware saw."""
    seen = []
    original = SessionMiddleware.process_request

    def spy(self, request):
        seen.append(request.path)
        return original(self, request)

    monkeypatch.setattr(SessionMiddleware, "process_request", spy)
    return seen


@async_to_sync
async def call(method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """(status, headers, body) of one request through the project's ASGI application."""
    from ttsproject.asgi import application

    sent = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
    sent += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": sent,
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(30)
    content = b""
    while True:
        message = await communicator.receive_output(30)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(5)
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content


def test_api_paths_skip_the_browser_middleware_and_keep_security_headers(fake_voices, session_paths):
    status, headers, body = call("GET", "/v1/models")
    assert status == 200 and b"tts-1" in body
    assert headers["x-content-type-options"] == "nosniff"
    assert int(headers["content-length"]) == len(body)
    assert "set-cookie" not in headers and "x-frame-options" not in headers and "x-request-id" in headers
    status, _, _ = call("GET", "/v1/health")  # probes too
    assert status == 200
    assert session_paths == []

    status, headers, _ = call("GET", "/")
    assert status == 200 and headers["x-frame-options"] == "DENY"
    assert session_paths == ["/"]


def test_the_admin_keeps_its_csrf_check_and_api_paths_their_key_check(fake_voices, settings):
    status, _, body = call("POST", "/admin/login/", b"username=x&password=y",
                           {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403 and b"CSRF" in body
    speak = b'{"name": "fake_a", "text": "one two", "response_format": "wav"}'
    status, headers, body = call("POST", "/speak", speak, {"Content-Type": "application/json"})
    assert status == 200 and body[:4] == b"RIFF"  # keys, not cookies: no CSRF token on API paths
    settings.TTS_API_KEY = "k"
    status, _, _ = call("POST", "/speak", speak, {"Content-Type": "application/json"})
    assert status == 401
    status, _, body = call("POST", "/speak", speak, {"Content-Type": "application/json", "Authorization": "Bearer k"})
    assert status == 200 and body[:4] == b"RIFF"
