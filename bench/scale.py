"""Scale benchmark: streaming requests at concurrency 1, 4, 8, 16 against the single-process
default and local clusters (redis-server + Celery workers) of 1 and N workers, with Piper.

Prints time to first audio p50/p95, throughput (seconds of audio per wall second), the ratio to
the bare engine's best throughput measured in the same run, resident memory of the web process
and of each worker, and how throughput grows from 1 to N workers.

    ./scripts/bench scale [--workers 2] [--requests 32]
"""
from __future__ import annotations

import argparse
import os
import concurrent.futures
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.common import FRESH, percentile, resident_mib, setup_django

TEXTS = [f"Request {i} asks for a few sentences of speech. The server streams each one as soon as it is "
         f"ready. Short replies like this are what voice assistants send." for i in range(64)]


def bare_throughput(texts: list[str]) -> float:
    """Best audio seconds per wall second of the bare engine: one thread, or one per core."""
    import os

    from synthesis.engines.base import EngineOptions
    from synthesis.engines.piper import PiperEngine
    from synthesis.text import normalize

    best = 0.0
    for threads, ort in ((1, os.cpu_count() or 1), (os.cpu_count() or 1, 1)):
        engines = []
        for _ in range(threads):
            engine = PiperEngine(EngineOptions(intra_op_threads=ort))
            engine.load()
            engines.append(engine)
        audio = [0.0]
        lock = threading.Lock()

        def work(i):
            engine = engines[i % threads]
            samples = engine.synthesize(normalize(texts[i]), "joe")
            with lock:
                audio[0] += len(samples) / engine.sample_rate

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(len(texts))))
        best = max(best, audio[0] / (time.perf_counter() - start))
    return best


def one_stream(url: str, text: str) -> tuple[float, float]:
    start = time.perf_counter()
    first, size = None, 0
    with requests.post(f"{url}/speak", json={"name": "joe", "text": text, "stream": True, "response_format": "pcm"},
                       headers=FRESH, stream=True, timeout=300) as r:
        r.raise_for_status()
        for chunk in r.iter_content(chunk_size=None):
            if chunk and first is None:
                first = time.perf_counter() - start
            size += len(chunk)
    return first, size / 2 / 22050


def load(url: str, concurrency: int, count: int) -> tuple[list[float], float]:
    """(times to first audio, audio seconds per wall second) for `count` requests at `concurrency`."""
    texts = TEXTS[:count]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda t: one_stream(url, t), texts))
    wall = time.perf_counter() - start
    return [r[0] for r in results], sum(r[1] for r in results) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=32)
    args = parser.parse_args()
    setup_django()
    from tests.liveserver import LiveServer

    bare = bare_throughput(TEXTS[:args.requests])
    print(f"bare piper, best throughput: {bare:.1f} s of audio per second")
    setups = [("single process", ()), ("cluster, 1 worker", ("--workers", "1"))]
    if args.workers > 1:
        setups.append((f"cluster, {args.workers} workers", ("--workers", str(args.workers))))
    peaks = {}
    for label, flags in setups:
        workdir = Path(tempfile.mkdtemp(prefix="tts-scale-"))
        server = LiveServer(workdir, *flags, env={"TTS_ENGINES": "piper", "REDIS_URL": ""}).wait_ready(300)
        try:
            one_stream(server.url, "Warm up.")
            print(f"\n== {label} ==")
            print(f"{'conc':>4} {'ttfa p50':>9} {'ttfa p95':>9} {'throughput':>11} {'vs bare':>8}")
            base_p50, best = None, 0.0
            for concurrency in (1, 4, 8, 16):
                ttfa, throughput = load(server.url, concurrency, max(args.requests, concurrency))
                p50, p95 = percentile(ttfa, 50), percentile(ttfa, 95)
                base_p50 = base_p50 or p50
                best = max(best, throughput)
                print(f"{concurrency:4d} {p50 * 1000:7.0f}ms {p95 * 1000:7.0f}ms {throughput:9.1f}x "
                      f"{throughput / bare:7.2f}   (p95 / p50 at c=1: {p95 / base_p50:.2f})")
            peaks[label] = best
            memory = resident_mib(server.process.pid)
            print("resident memory after the load: " + ", ".join(
                f"{name} {mib:.0f} MiB" for name, mib in sorted(memory.values(), key=lambda v: -v[1])
                if mib >= 20))
        finally:
            server.stop()
    if args.workers > 1:
        one, many = peaks["cluster, 1 worker"], peaks[f"cluster, {args.workers} workers"]
        print(f"\nbest throughput, 1 worker {one:.1f}x, {args.workers} workers {many:.1f}x: "
              f"{many / one:.2f}x from 1 to {args.workers} workers on {os.cpu_count()} cores")

if __name__ == "__main__":
    main()
