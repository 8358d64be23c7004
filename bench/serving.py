"""Serving benchmark: this server against the bare engines and the peer servers, side by side in one run.

For Piper (joe) and Kokoro, closed-loop clients stream short, medium and long English texts
(raw PCM over the OpenAI endpoint here; each peer's own streaming API) at concurrency 1 and 8:

  c=1 TTFA p50 (this server and the bare engine request by request in turn), c=8 TTFA p50 / p95 (first audio byte), c=8 throughput (audio seconds per second),
  repeat (first audio of a second identical request: the output cache), stall (seconds a player
  that starts at the first byte waits for audio, per request, mean at c=1 and c=4),

and the ratios of this server to the bare engine and to each peer. Peers are installed from PyPI
into their own virtual environments (bench/peers.py). Run it with nothing else on the machine:

    ./scripts/bench serving [--requests 16] [--no-peers] [--engines piper kokoro] [--variant ENV=VALUE]

`--variant TTS_ORT_THREADS=1` (repeatable) also measures a server started with that setting,
in the same run, and prints its ratios to this server's (new against old, side by side).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.common import FRESH, ROOT, median, percentile, resident_mib
from bench.peers import TEXTS, start_peer

VOICES = {"piper": "joe", "kokoro": "af_heart"}
PEER_FOR = {"piper": "piper-http", "kokoro": "fastkokoro"}
SERVED_RATE = 24000  # OpenAI's raw PCM


def stall_seconds(arrivals: list[tuple[float, float]]) -> float:
    """Seconds a player that starts with the first chunk waits for audio: (arrival, seconds) per chunk."""
    if not arrivals:
        return 0.0
    clock, stalled = arrivals[0][0], 0.0
    for arrived, seconds in arrivals:
        if arrived > clock:
            stalled += arrived - clock
            clock = arrived
        clock += seconds
    return stalled


def served_request(url: str, voice: str, text: str, fresh: bool = True) -> dict:
    """One streamed request: first audio, audio seconds, stall seconds."""
    headers = FRESH if fresh else {}
    start = time.perf_counter()
    arrivals = []
    with requests.post(f"{url}/v1/audio/speech", json={"model": "tts-1", "voice": voice, "input": text,
                                                       "response_format": "pcm"},
                       headers=headers, stream=True, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=None):
            if chunk:
                arrivals.append((time.perf_counter() - start, len(chunk) / 2 / SERVED_RATE))
    return {"ttfa": arrivals[0][0], "audio": sum(s for _, s in arrivals), "stall": stall_seconds(arrivals)}


class BareEngine:
    """The engine in this process, sentence by sentence, as an application would call it."""

    def __init__(self, name: str, threads: int):
        from bench.common import setup_django

        setup_django()
        from synthesis.engines.registry import engine_class
        from synthesis.services import engine_options

        options = engine_options(name)  # the server's model and voice paths, with `threads` onnxruntime threads
        options.intra_op_threads = threads
        self.engine = engine_class(name)(options)
        self.engine.load()
        self.voice = VOICES[name]

    def request(self, text: str) -> dict:
        from synthesis.text import normalize
        from synthesis.text.sentences import sentences

        start = time.perf_counter()
        arrivals = []
        for sentence in sentences(text):
            audio = self.engine.synthesize(normalize(sentence, "en"), self.voice, language="en")
            arrivals.append((time.perf_counter() - start, len(audio) / self.engine.sample_rate))
        return {"ttfa": arrivals[0][0], "audio": sum(s for _, s in arrivals), "stall": stall_seconds(arrivals)}


def closed_loop(request, concurrency: int, count: int) -> dict:
    """`count` requests over the texts by `concurrency` clients, each sending its next when one ends."""
    texts = [TEXTS[i % len(TEXTS)] for i in range(count)]
    lock, results = threading.Lock(), []
    start = time.perf_counter()

    def client(mine):
        for text in mine:
            result = request(text)
            with lock:
                results.append({**result, "text": text})

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, [texts[i::concurrency] for i in range(concurrency)]))
    wall = time.perf_counter() - start
    ttfa = [r["ttfa"] for r in results]
    return {"p50": median(ttfa), "p95": percentile(ttfa, 95), "throughput": sum(r["audio"] for r in results) / wall,
            "stall": sum(r["stall"] for r in results) / len(results),
            "by_text": [max(r["ttfa"] for r in results if r["text"] == text) for text in TEXTS]}


def measure(request, count: int, repeat=None, alone: dict | None = None) -> dict:
    """The row of one target; `alone`: its c=1 figures when measured already (paired())."""
    if alone is None:  # paired() ran after its own warm-up
        closed_loop(request, 1, len(TEXTS))  # warm-up: every text once
        alone = closed_loop(request, 1, max(len(TEXTS), count // 2))
    four = closed_loop(request, 4, count)
    eight = closed_loop(request, 8, count)
    row = {"c1": alone["p50"], "c8_p50": eight["p50"], "c8_p95": eight["p95"], "tput": eight["throughput"],
           "c8_worst": eight["by_text"],
           "stall1": alone["stall"], "stall4": four["stall"], "stall8": eight["stall"], "repeat": float("nan")}
    if repeat is not None:
        row["repeat"] = median([repeat(text) for text in TEXTS for _ in range(3)])
    return row


def paired(served, bare, engine: str, rounds: int = 6) -> tuple[dict, dict]:
    """The c=1 figures of this server and of the bare engine, measured request by request in turn
    (which goes first alternates by round), so both see the same moment's machine: on these shared
    machines one engine's speed drifts by 2-5x within minutes, more than the difference measured.
    Each request starts after a short pause, so neither side's threads still spinning from its last
    run (onnxruntime's default) take the cores from the other's first audio. Prints the medians and
    their ratio per text; returns each side's c=1 p50 (over every text, as closed_loop) and stall."""
    pause = threading.Event()
    sides = {"served": served, "bare": bare}
    results: dict[str, dict[str, list[dict]]] = {side: {text: [] for text in TEXTS} for side in sides}
    for round_ in range(rounds):
        for text in TEXTS:
            for side in (("served", "bare") if round_ % 2 == 0 else ("bare", "served")):
                pause.wait(0.2)
                results[side][text].append(sides[side](text))
    for label, text in zip(("short", "medium", "long"), TEXTS):
        s, b = (median([r["ttfa"] for r in results[side][text]]) for side in sides)
        print(f"c=1 in turn, {engine} {label}: served {s * 1000:.0f} ms, bare {b * 1000:.0f} ms, "
              f"ratio {s / b:.2f}x", flush=True)

    def summary(side: str) -> dict:
        every = [r for text in TEXTS for r in results[side][text]]
        return {"p50": median([r["ttfa"] for r in every]), "stall": sum(r["stall"] for r in every) / len(every)}
    return summary("served"), summary("bare")


def server_rss_mib(pid: int) -> float:
    """Resident memory of a process and its descendants, in MiB (Linux)."""
    return sum(mib for _, mib in resident_mib(pid).values())


def print_table(rows: dict[str, dict], engines: list[str]) -> None:
    print("\n| target | c=1 TTFA p50 | c=8 TTFA p50 / p95 | c=8 throughput | repeat TTFA | stall c=1 / c=4 / c=8 |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        repeat = "—" if r["repeat"] != r["repeat"] else f"{r['repeat'] * 1000:.0f} ms"
        print(f"| {name} | {r['c1']:.2f} s | {r['c8_p50']:.2f} / {r['c8_p95']:.2f} s | {r['tput']:.1f} | {repeat} | "
              f"{r['stall1']:.2f} / {r['stall4']:.2f} / {r['stall8']:.2f} s |")
    print("\nc=8 slowest first audio per text (short / medium / long):")
    for name, r in rows.items():
        print(f"  {name}: " + " / ".join(f"{seconds:.2f} s" for seconds in r["c8_worst"]))
    print("\nRatios of this server (c=1 TTFA: lower is better, ≤ 1.1 the target; throughput: higher is better)")
    for engine in engines:
        served = rows.get(f"this server, {engine}")
        variants = [name for name in rows if name.endswith(f", {engine}") and "=" in name]
        for other in (f"bare {engine}", PEER_FOR[engine], *variants):
            if served and other in rows:
                o = rows[other]
                print(f"  {engine} vs {other}: c=1 TTFA {served['c1'] / o['c1']:.2f}x, c=8 TTFA p95 "
                      f"{served['c8_p95'] / o['c8_p95']:.2f}x, c=8 throughput {served['tput'] / o['tput']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=16, help="requests per concurrency level")
    parser.add_argument("--engines", nargs="+", default=["piper", "kokoro"], choices=["piper", "kokoro"])
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--variant", action="append", default=[], metavar="ENV=VALUE",
                        help="also measure a server with this setting (repeatable)")
    args = parser.parse_args()
    import sys

    sys.path.insert(0, str(ROOT))
    from tests.liveserver import LiveServer

    cores = os.cpu_count() or 1
    rows: dict[str, dict] = {}
    bares = {engine: BareEngine(engine, threads=cores) for engine in args.engines}
    alone: dict[str, tuple[dict, dict]] = {}  # engine -> c=1 of (this server, the bare engine)
    workdir = Path(tempfile.mkdtemp(prefix="tts-serving-"))
    server = LiveServer(workdir, env={"TTS_ENGINES": ",".join(args.engines)}).wait_ready(600)
    try:
        print(f"server resident memory, engines loaded: {server_rss_mib(server.process.pid):.0f} MiB")
        for engine in args.engines:
            voice = VOICES[engine]
            served = lambda text: served_request(server.url, voice, text)  # noqa: E731
            for text in TEXTS:  # warm-up: every text once on each side
                served(text), bares[engine].request(text)
            alone[engine] = paired(served, bares[engine].request, engine)
            rows[f"this server, {engine}"] = measure(
                served, args.requests, alone=alone[engine][0],
                repeat=lambda text: served_request(server.url, voice, text, fresh=False)["ttfa"])
            print(f"after {engine}: server resident memory {server_rss_mib(server.process.pid):.0f} MiB", flush=True)
    finally:
        server.stop()
    for variant in args.variant:
        name, _, value = variant.partition("=")
        other = LiveServer(Path(tempfile.mkdtemp(prefix="tts-variant-")),
                           env={"TTS_ENGINES": ",".join(args.engines), name: value}).wait_ready(600)
        try:
            for engine in args.engines:
                voice = VOICES[engine]
                served = lambda text: served_request(other.url, voice, text)  # noqa: E731
                for text in TEXTS:
                    served(text)
                rows[f"{variant}, {engine}"] = measure(
                    served, args.requests, alone=paired(served, bares[engine].request, f"{variant} {engine}")[0])
                print(f"{variant}, after {engine}: server resident memory {server_rss_mib(other.process.pid):.0f} MiB",
                      flush=True)
        finally:
            other.stop()
    for engine in args.engines:
        rows[f"bare {engine}"] = measure(bares[engine].request, args.requests, alone=alone[engine][1])
    if not args.no_peers:
        for engine in args.engines:
            with start_peer(PEER_FOR[engine]) as peer:
                rows[PEER_FOR[engine]] = measure(lambda text: peer_request(peer, text), args.requests)
    print_table(rows, args.engines)


def peer_request(peer, text: str) -> dict:
    ttfa, audio = peer.first_audio(text)
    return {"ttfa": ttfa, "audio": audio, "stall": float("nan")}


if __name__ == "__main__":
    main()
