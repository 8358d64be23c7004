"""Soak: minutes of mixed, partly hostile traffic against a live server, then a check that nothing leaked.

Clients in threads pick at random: well-behaved requests of every dialect (streamed and whole,
REST and WebSocket), clients that vanish before the first byte or mid-stream, references on a URL
that trickles a byte a second, bodies over the limit (declared, and streamed without a length),
and malformed JSON. Afterwards the server must settle: no active job, no open stream, resident
memory within 10 % of what it was after warm-up, and every kind of request served again.

    ./scripts/bench soak [--minutes 10] [--clients 6] [--warmup-minutes 1]

Resident memory is compared with what it was after a warm-up of the same traffic (ONNX Runtime's
arenas and glibc's per-thread heaps grow to the largest inputs and the most threads they have
seen, then stay); it is also printed every 30 s, so a slope can be told from a plateau.
"""
from __future__ import annotations

import argparse
import asyncio
import http.server
import json
import random
import socket
import struct
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from bench.common import setup_django

TEXT = "The quick brown fox jumps over the lazy dog. It then runs across the quiet fields toward home. "


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Trickle(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        try:
            for _ in range(120):
                self.wfile.write(b"R")
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass

    def log_message(self, *args):
        pass


class Soak:
    def __init__(self, url: str, port: int, trickle_url: str, reference: bytes):
        self.url, self.port, self.trickle_url, self.reference = url, port, trickle_url, reference
        self.outcomes: Counter = Counter()
        self.lock = threading.Lock()

    def count(self, kind: str, outcome) -> None:
        with self.lock:
            self.outcomes[(kind, str(outcome))] += 1

    # well-behaved ---------------------------------------------------------------------------------
    def speak_stream(self):
        with requests.post(f"{self.url}/speak", json={"name": "joe", "text": TEXT, "stream": True,
                                                      "response_format": "mp3"}, stream=True, timeout=120) as r:
            size = sum(len(c) for c in r.iter_content(None))
        return r.status_code if size else "empty"

    def openai_whole(self):
        r = requests.post(f"{self.url}/v1/audio/speech", json={"model": "tts-1", "voice": "alloy",
                                                               "input": "Hello there.", "response_format": "wav"},
                          timeout=120)
        return r.status_code

    def fish_mandarin(self):
        return requests.post(f"{self.url}/v1/tts", json={"text": "你好，这是测试文本。", "format": "wav"},
                             timeout=120).status_code

    def lighttts_clone(self):
        return requests.post(f"{self.url}/inference_zero_shot", files={"prompt_wav": ("r.wav", self.reference)},
                             data={"tts_text": "Cloned once more.", "prompt_text": "x"}, timeout=120).status_code

    def ws_binary(self):
        import websockets

        from tests import openspeech_client

        async def run():
            async with websockets.connect(self.url.replace("http", "ws") + "/api/v1/tts/ws_binary",
                                          ping_interval=None) as ws:
                await ws.send(openspeech_client.build_client_frame({"audio": {"voice_type": "joe", "encoding": "mp3"},
                                                        "request": {"reqid": "r", "text": "Hi there.",
                                                                    "operation": "submit"}}))
                while True:
                    kind, number, _ = openspeech_client.parse_server_frame(await ws.recv())
                    if kind != "audio" or number < 0:
                        return kind

        return asyncio.run(run())

    # hostile --------------------------------------------------------------------------------------
    def reset_before_first_byte(self):
        body = json.dumps({"name": "joe", "text": TEXT * 3, "stream": True}).encode()
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.sendall(b"POST /speak HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        time.sleep(random.uniform(0, 0.05))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        return "reset"

    def leave_mid_stream(self):
        with requests.post(f"{self.url}/speak", json={"name": "joe", "text": TEXT * 4, "stream": True},
                           stream=True, timeout=120) as r:
            next(r.iter_content(1024), None)
        return "left"

    def ws_leave_mid_synthesis(self):
        import websockets

        from tests import openspeech_client

        async def run():
            async with websockets.connect(self.url.replace("http", "ws") + "/api/v1/tts/ws_binary",
                                          ping_interval=None) as ws:
                await ws.send(openspeech_client.build_client_frame({"audio": {"voice_type": "joe", "encoding": "mp3"},
                                                        "request": {"reqid": "r", "text": TEXT * 3,
                                                                    "operation": "submit"}}))
                await ws.recv()

        asyncio.run(run())
        return "left"

    def slow_url(self):
        return requests.post(f"{self.url}/clone_voice", json={"text": "x", "reference_audio": self.trickle_url},
                             timeout=120).status_code

    def oversized_declared(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.sendall(b"POST /clone_voice HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 536870912\r\n\r\n" + b"\0" * 65536)
        answer = sock.recv(64)
        sock.close()
        return answer.split(b" ")[1].decode() if answer else "closed"

    def oversized_streamed(self):
        def chunks():
            for _ in range(100):
                yield b"x" * 65536

        try:
            return requests.post(f"{self.url}/speak", data=chunks(), headers={"Content-Type": "application/json"},
                                 timeout=60).status_code
        except requests.ConnectionError:
            return "closed"

    def malformed_json(self):
        return requests.post(f"{self.url}/api/tts/interrupt", data=b"[" * 50000 + b"]" * 50000,
                             headers={"Content-Type": "application/json"}, timeout=60).status_code

    def run(self, seconds: float, clients: int) -> None:
        actions = [(self.speak_stream, 4), (self.openai_whole, 3), (self.fish_mandarin, 2), (self.lighttts_clone, 1),
                   (self.ws_binary, 2), (self.reset_before_first_byte, 3), (self.leave_mid_stream, 2),
                   (self.ws_leave_mid_synthesis, 2), (self.slow_url, 1), (self.oversized_declared, 1),
                   (self.oversized_streamed, 1), (self.malformed_json, 1)]
        pool = [a for a, weight in actions for _ in range(weight)]
        end = time.monotonic() + seconds

        def client():
            while time.monotonic() < end:
                action = random.choice(pool)
                try:
                    self.count(action.__name__, action())
                except Exception as e:  # what a hostile client sees is part of the record
                    self.count(action.__name__, type(e).__name__)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def gauges(url: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    out = Counter()
    for family in text_string_to_metric_families(requests.get(f"{url}/metrics", timeout=30).text):
        for sample in family.samples:
            if sample.name in ("tts_active_jobs", "tts_active_streams"):
                out[sample.name] += sample.value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--warmup-minutes", type=float, default=1.0)
    args = parser.parse_args()
    setup_django()
    from tests.audio import tone_wav
    from tests.liveserver import LiveServer

    trickle = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=trickle.serve_forever, daemon=True).start()
    server = LiveServer(Path(tempfile.mkdtemp(prefix="tts-soak-")), env={
        "TTS_ENGINES": "piper,kokoro", "TTS_URL_ALLOWLIST": "127.0.0.1", "TTS_URL_TIMEOUT": "5",
        "TTS_MAX_UPLOAD_BYTES": str(2 * 1024 * 1024), "TTS_READER_TIMEOUT": "10"}).wait_ready()
    soak = Soak(server.url, server.port, f"http://127.0.0.1:{trickle.server_port}/r.wav", tone_wav())
    try:
        # warm-up: the same traffic, until engines, runtime arenas, caches and pools are as they will stay
        soak.run(args.warmup_minutes * 60, args.clients)
        soak.outcomes.clear()
        start_rss = rss_kib(server.process.pid)
        started = time.monotonic()
        timeline, done = [], threading.Event()

        def sample():
            while not done.wait(30):
                timeline.append((time.monotonic() - started, rss_kib(server.process.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        soak.run(args.minutes * 60, args.clients)
        done.set()
        sampler.join()
        print(f"== soak: {args.minutes:g} min, {args.clients} clients, {sum(soak.outcomes.values())} requests ==")
        for (kind, outcome), n in sorted(soak.outcomes.items()):
            print(f"  {kind:26} {outcome:22} {n:6}")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(gauges(server.url).values()):
            time.sleep(1)
        settled = gauges(server.url)
        end_rss = rss_kib(server.process.pid)
        print(f"after {time.monotonic() - started:.0f} s: active jobs {settled['tts_active_jobs']:.0f}, "
              f"open streams {settled['tts_active_streams']:.0f}")
        print(f"resident memory: {start_rss / 1024:.0f} MiB after {args.warmup_minutes:g} min of warm-up, "
              f"{end_rss / 1024:.0f} MiB after ({(end_rss - start_rss) / start_rss * 100:+.1f} %; limit +10 %)")
        print("  every 30 s (MiB): " + " ".join(f"{kib / 1024:.0f}" for _, kib in timeline))
        half = [kib for at, kib in timeline if at >= args.minutes * 30]
        if half:
            print(f"  second half: {half[0] / 1024:.0f} -> {end_rss / 1024:.0f} MiB "
                  f"({(end_rss - half[0]) / half[0] * 100:+.1f} %)")
        later = {action.__name__: action() for action in (soak.speak_stream, soak.openai_whole, soak.fish_mandarin,
                                                          soak.lighttts_clone, soak.ws_binary)}
        print(f"served afterwards: {later}; readiness {requests.get(f'{server.url}/readiness').status_code}")
    finally:
        server.stop()
        trickle.shutdown()


if __name__ == "__main__":
    main()
