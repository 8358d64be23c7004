"""Realtime benchmark: the OpenSpeech binary WebSocket's first frame vs HTTP streaming's first byte.

Against one live server, the same text and voice, side by side: the time to the first audio frame
of `/api/v1/tts/ws_binary` (submit), and to the first audio byte of `/api/tts/stream` and of
`/speak` with stream=true (mp3), medians over repeats, with the WebSocket/HTTP ratio.

    ./scripts/bench realtime [--repeats 5] [--voice zf_xiaobei]
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import requests

from bench.common import FRESH, median, setup_django

TEXT = ("The library opens at nine in the morning and closes at six in the evening. Visitors can borrow up to five "
        "books at a time, and renewals are free of charge for members. Please keep your voice down in the reading "
        "rooms, switch your phone to silent, and enjoy your visit. Children's story time is on Saturday mornings at "
        "ten, and the café on the ground floor serves coffee, tea and light lunches until four in the afternoon.")


def http_first_byte(url: str, path: str, body: dict) -> float:
    start = time.perf_counter()
    first = None
    with requests.post(f"{url}{path}", json=body, headers=FRESH, stream=True, timeout=300) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=None):  # read to the end: no work left behind
            if chunk and first is None:
                first = time.perf_counter() - start
    return first


def ws_first_frame(url: str, voice: str, text: str) -> float:
    import websockets

    from tests import openspeech_client

    async def run():
        request = {"app": {"appid": "a", "token": "t", "cluster": "c"}, "user": {"uid": "u"},
                   "audio": {"voice_type": voice, "encoding": "mp3"},
                   "request": {"reqid": "r", "text": text, "operation": "submit"}}
        start = time.perf_counter()
        first = None
        async with websockets.connect(url.replace("http", "ws") + "/api/v1/tts/ws_binary", ping_interval=None) as ws:
            await ws.send(openspeech_client.build_client_frame(request))
            while True:
                kind, number, payload = openspeech_client.parse_server_frame(await ws.recv())
                if kind == "audio" and payload and first is None:
                    first = time.perf_counter() - start
                if kind != "audio" or number < 0:
                    return first

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--voice", default="af_heart")
    args = parser.parse_args()
    setup_django()
    from tests.liveserver import LiveServer

    server = LiveServer(Path(tempfile.mkdtemp(prefix="tts-realtime-")), env={"TTS_ENGINES": "piper,kokoro"})
    server.wait_ready()
    try:
        http_first_byte(server.url, "/speak", {"name": args.voice, "text": "Warm up.", "stream": True})
        runs = {"ws_binary first frame": [], "/api/tts/stream first byte": [], "/speak stream first byte": []}
        for _ in range(args.repeats):  # side by side, one of each per round
            runs["ws_binary first frame"].append(ws_first_frame(server.url, args.voice, TEXT))
            runs["/api/tts/stream first byte"].append(
                http_first_byte(server.url, "/api/tts/stream", {"text": TEXT, "voice_type": args.voice}))
            runs["/speak stream first byte"].append(
                http_first_byte(server.url, "/speak", {"name": args.voice, "text": TEXT, "stream": True,
                                                       "response_format": "mp3"}))
        print(f"== first audio, {len(TEXT)} characters, voice {args.voice}, medians of {args.repeats} ==")
        for name, values in runs.items():
            print(f"{name:30} {median(values) * 1000:8.0f} ms")
        ws = median(runs["ws_binary first frame"])
        http = median(runs["/api/tts/stream first byte"])
        print(f"WebSocket / HTTP streaming ratio: {ws / http:.2f} (target at most 1.10)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
