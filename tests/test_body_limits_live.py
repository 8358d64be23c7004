"""Bodies are refused before they are read: no key, or too big, against a live server."""
import socket

import pytest
import requests

from tests.liveserver import LiveServer

pytestmark = [pytest.mark.live_server]
UPLOAD = 1024 * 1024  # TTS_MAX_UPLOAD_BYTES for this server: audio paths take about 1.4 MiB


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("limits"), "--api_key", "k",
                      env={"TTS_ENGINES": "piper", "TTS_MAX_UPLOAD_BYTES": str(UPLOAD)}).wait_ready()
    yield live
    live.stop()


def rss_kib(server) -> int:
    for line in open(f"/proc/{server.process.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_post(server, path, headers, body_parts):
    """Send a request by hand (declared sizes need not be honest); the status line and body answered."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(head.encode() + b"\r\n")
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking the rest: that is the point
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < 10:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1]


def test_a_huge_body_without_the_key_is_401_before_it_is_read(server):
    before = rss_kib(server)
    status, body = raw_post(server, "/clone_voice", {"Content-Length": str(512 * 1024 * 1024),
                                                      "Content-Type": "application/octet-stream"},
                            [b"\0" * 65536] * 4)
    assert status == 401 and b"API key" in body
    assert rss_kib(server) - before < 20 * 1024


def test_a_declared_size_over_the_limit_is_413_in_the_dialects_shape(server):
    status, body = raw_post(server, "/v1/audio/speech", {"Content-Length": str(100 * UPLOAD),
                                                          "Authorization": "Bearer k",
                                                          "Content-Type": "application/json"}, [b"{"])
    assert status == 413 and b'"error"' in body and b"payload_too_large" in body
    status, body = raw_post(server, "/speak", {"Content-Length": str(4 * 1024 * 1024), "Authorization": "Bearer k",
                                               "Content-Type": "application/json"}, [b"{"])
    assert status == 413 and b'"detail"' in body  # a path without audio has a smaller limit


def test_a_chunked_body_is_refused_the_moment_it_passes_the_limit(server):
    before = rss_kib(server)

    def chunks():
        for _ in range(200):  # 12.5 MiB, far past the limit
            part = b"x" * 65536
            yield f"{len(part):x}\r\n".encode() + part + b"\r\n"

    status, body = raw_post(server, "/inference_zero_shot", {"Transfer-Encoding": "chunked", "Authorization": "Bearer k",
                                                             "Content-Type": "multipart/form-data; boundary=b"},
                            chunks())
    assert status == 413 and b"error_code" in body  # LightTTS's shape
    assert rss_kib(server) - before < 20 * 1024
    assert requests.get(f"{server.url}/readiness").status_code == 200  # and it serves on
