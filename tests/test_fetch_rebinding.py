"""DNS rebinding: a reference URL's connection goes to the address that was checked, not to a
second lookup's answer (synthesis/fetch.py)."""
import http.server
import socket
import threading

import pytest

from synthesis import fetch
from synthesis.errors import InvalidInput
from synthesis.reference import IntakeLimits

PUBLIC = "93.184.216.34"


@pytest.fixture
def loopback_server():
    """A local HTTP server that counts the requests reaching it."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = b"secret from loopback"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


def test_a_host_that_rebinds_to_loopback_after_the_check_is_not_connected_to_there(monkeypatch, loopback_server):
    port, hits = loopback_server
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection
    lookups, connects = [], []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.example":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)
        address = PUBLIC if len(lookups) == 1 else "127.0.0.1"  # public when checked, loopback after
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, args[0] if args else port))]

    def connect(address, *args, **kwargs):
        connects.append(address[0])
        if address[0] == PUBLIC:  # stands for the public host; no network here
            raise ConnectionRefusedError("public host refused (test)")
        return real_connect(address, *args, **kwargs)  # a name would be resolved again: loopback

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket, "create_connection", connect)
    with pytest.raises(InvalidInput, match="cannot fetch URL"):
        fetch.fetch_url(f"http://rebind.example:{port}/voice.wav", "reference_audio", IntakeLimits(url_timeout=5))
    assert connects == [PUBLIC]  # the checked address, not the name
    assert hits == []  # nothing reached the loopback server


def resolve_to_loopback(monkeypatch, name: str, port: int) -> None:
    """`name` resolves to the local server; every other name as usual."""
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host != name:
            return real_getaddrinfo(host, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_a_host_that_resolves_to_loopback_at_the_check_is_refused(monkeypatch, loopback_server):
    port, hits = loopback_server
    resolve_to_loopback(monkeypatch, "rebind.example", port)
    with pytest.raises(InvalidInput, match="loopback"):
        fetch.fetch_url(f"http://rebind.example:{port}/voice.wav", "reference_audio", IntakeLimits(url_timeout=5))
    assert hits == []


def test_the_checked_address_is_where_the_bytes_come_from(monkeypatch, loopback_server):
    """The positive control: an allowlisted name resolving to the local server is fetched from it."""
    port, hits = loopback_server
    resolve_to_loopback(monkeypatch, "voices.example", port)
    body = fetch.fetch_url(f"http://voices.example:{port}/v.wav", "reference_audio",
                           IntakeLimits(url_timeout=5, url_allowlist=("voices.example",)))
    assert body == b"secret from loopback" and hits == ["/v.wav"]
