"""Every slot and job is released, against a live server: clients that reset before the first byte,
WebSocket clients that leave mid-synthesis or send what breaks a handler."""
import asyncio
import gzip
import json
import socket
import struct
import time

import pytest
import requests
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tests import openspeech_client
from tests.liveserver import LiveServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]
LONG = "This sentence keeps the synthesis busy for a little while longer than the client stays. " * 8


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("leaks"), env={
        "TTS_ENGINES": "piper", "TTS_MAX_ACTIVE_JOBS": "20", "TTS_READER_TIMEOUT": "2",
        "TTS_WS_MAX_CONNECTIONS": "3"}).wait_ready()
    yield live
    live.stop()


def gauges(server) -> dict:
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in ("tts_active_jobs", "tts_active_streams"):
                out[(sample.name, sample.labels.get("dialect", ""))] = sample.value
    return out


def settles(server, name, dialect="", seconds=60.0) -> float:
    """Wait until a gauge is 0 (or time runs out); its last value."""
    deadline = time.monotonic() + seconds
    value = None
    while time.monotonic() < deadline:
        value = gauges(server).get((name, dialect), 0.0)
        if value == 0:
            return 0.0
        time.sleep(0.2)
    return value


def received(server, endpoint: str, count: int, seconds: float = 60.0) -> float:
    """Wait until the server has counted `count` requests to an endpoint (or time runs out)."""
    deadline = time.monotonic() + seconds
    seen = 0.0
    while time.monotonic() < deadline:
        text = requests.get(f"{server.url}/metrics", timeout=10).text
        seen = sum(sample.value for family in text_string_to_metric_families(text)
                   for sample in family.samples
                   if sample.name == "lightllm_request_count_total" and sample.labels.get("endpoint") == endpoint)
        if seen >= count:
            break
        time.sleep(0.2)
    return seen


def reset_after_sending(server, body: dict, received_before: float | None = None) -> None:
    """POST a streaming request and vanish with a reset (SO_LINGER 0) right after sending it (with
    `received_before`: as soon as the server has counted the request)."""
    payload = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"POST /speak HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
    if received_before is not None:
        assert received(server, "/speak", received_before + 1) >= received_before + 1
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_clients_that_reset_before_the_first_byte_leave_no_job_behind(server):
    before = received(server, "/speak", 0)
    for i in range(30):
        # a reset discards what the server has not read yet: vanish once the request has reached the view
        reset_after_sending(server, {"name": "joe", "text": f"Request {i}. {LONG}", "stream": True,
                                     "response_format": "mp3"}, received_before=before + i)
    # with TTS_MAX_ACTIVE_JOBS=20 a leak of 20 would leave the server refusing everyone for good
    assert settles(server, "tts_active_jobs") == 0
    assert requests.get(f"{server.url}/readiness").status_code == 200
    served = requests.post(f"{server.url}/speak", json={"name": "joe", "text": "Still serving.",
                                                        "response_format": "wav"}, timeout=60)
    assert served.status_code == 200


def ws_url(server):
    return server.url.replace("http", "ws") + "/api/v1/tts/ws_binary"


def nested_frame(depth: int) -> bytes:
    payload = gzip.compress(b"[" * depth + b"]" * depth)
    return bytes([0x11, 0x10, 0x11, 0x00]) + struct.pack(">I", len(payload)) + payload


def test_websocket_slots_come_back_however_the_clients_leave(server):
    request = {"audio": {"voice_type": "joe", "encoding": "mp3"},
               "request": {"reqid": "r", "text": LONG, "operation": "submit"}}

    async def leave_mid_synthesis():
        async with websockets.connect(ws_url(server), ping_interval=None) as ws:
            await ws.send(openspeech_client.build_client_frame(request))
            await ws.recv()  # the first frame, then gone with synthesis still running

    async def break_the_handler():
        async with websockets.connect(ws_url(server), ping_interval=None) as ws:
            for _ in range(5):
                await ws.send(nested_frame(100_000))
                kind, code, _ = openspeech_client.parse_server_frame(await ws.recv())
                assert kind == "error"

    for _ in range(4):  # more than TTS_WS_MAX_CONNECTIONS (3) of each
        asyncio.run(leave_mid_synthesis())
        asyncio.run(break_the_handler())
    assert settles(server, "tts_active_streams", "openspeech") == 0
    assert settles(server, "tts_active_jobs") == 0

    async def still_served():
        async with websockets.connect(ws_url(server), ping_interval=None) as ws:
            await ws.send(openspeech_client.build_client_frame({**request, "request": {**request["request"], "text": "Hi."}}))
            while True:
                kind, number, _ = openspeech_client.parse_server_frame(await ws.recv())
                if kind != "audio" or number < 0:
                    return kind

    assert asyncio.run(still_served()) == "audio"
