"""Event-loop benchmark: how long a cheap request (`GET /v1/health`) waits while 16 streams are
being admitted, against the single-process server and a cluster (Redis + Celery workers), where
admission costs Redis round trips and a Celery publish per request.

One probe thread asks `/v1/health` back to back; a burst of 16 streaming `/speak` requests starts;
the probes sent between the burst's start and its last request's first byte are the "admitting"
sample, the probes before the burst the "idle" one. Each setup runs `--repeats` bursts; the
figures are medians over them. With `--before DIR` (a checkout of an older commit) the same
setups run against that checkout too, side by side in one run.

    ./scripts/bench loop [--repeats 5] [--workers 2] [--before /path/to/old/checkout]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.common import FRESH, ROOT, percentile, setup_django

BURST = 16
TEXT = "A burst of streams arrives at once. Each one asks for a couple of sentences of speech."


class Prober(threading.Thread):
    """Times `GET /v1/health` back to back until stopped: (start time, seconds) per probe."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.samples, self.stop = url, [], threading.Event()
        self.session = requests.Session()

    def run(self) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            self.session.get(f"{self.url}/v1/health", timeout=60).raise_for_status()
            self.samples.append((start, time.perf_counter() - start))

    def between(self, start: float, end: float) -> list[float]:
        return [seconds for at, seconds in self.samples if start <= at < end]


def first_byte(url: str, index: int) -> float:
    """Streams one request to its end; the time its first audio byte arrived."""
    with requests.post(f"{url}/speak", json={"name": "joe", "text": f"{index}. {TEXT}", "stream": True,
                                             "response_format": "pcm"},
                       headers=FRESH, stream=True, timeout=300) as response:
        response.raise_for_status()
        first = None
        for chunk in response.iter_content(chunk_size=None):
            if chunk and first is None:
                first = time.perf_counter()
    return first


def burst(url: str, prober: Prober) -> tuple[list[float], list[float]]:
    """(idle probe latencies just before the burst, probe latencies while it was being admitted)."""
    quiet_from = time.perf_counter()
    while len(prober.between(quiet_from, float("inf"))) < 20:  # an idle sample, back to back
        if not prober.is_alive():
            raise RuntimeError("the health probe failed (see above)")
        time.sleep(0.01)
    start = time.perf_counter()
    idle = prober.between(quiet_from, start)
    with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
        firsts = list(pool.map(lambda i: first_byte(url, i), range(BURST)))
    return idle, prober.between(start, max(firsts))


def measure(root: Path, flags: tuple[str, ...], repeats: int) -> dict:
    from tests.liveserver import LiveServer

    server = LiveServer(Path(tempfile.mkdtemp(prefix="tts-loop-")), *flags,
                        env={"TTS_ENGINES": "piper", "REDIS_URL": "", "TTS_MAX_ACTIVE_JOBS": "64"},
                        root=root).wait_ready(300)
    prober = Prober(server.url)
    try:
        first_byte(server.url, -1)  # warm up
        prober.start()
        idle, busy = [], []
        for _ in range(repeats):
            quiet, admitting = burst(server.url, prober)
            idle.append(statistics.median(quiet))
            busy.append((percentile(admitting, 50), percentile(admitting, 95), max(admitting), len(admitting)))
    finally:
        prober.stop.set()
        prober.join(60)
        server.stop()
    return {"idle": statistics.median(idle), "p50": statistics.median(b[0] for b in busy),
            "p95": statistics.median(b[1] for b in busy), "max": statistics.median(b[2] for b in busy),
            "probes": statistics.median(b[3] for b in busy)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--before", type=Path, help="an older checkout to measure side by side")
    args = parser.parse_args()
    setup_django()
    roots = [("this checkout", ROOT)] + ([(f"before ({args.before.name})", args.before)] if args.before else [])
    setups = [("single process", ()), (f"cluster, {args.workers} workers", ("--workers", str(args.workers)))]
    print(f"GET /v1/health latency while {BURST} streams are admitted; medians over {args.repeats} bursts")
    print(f"{'setup':<22} {'code':<22} {'idle p50':>9} {'admit p50':>10} {'admit p95':>10} {'admit max':>10} "
          f"{'p95/idle':>9} {'probes':>7}")
    results = {}
    for setup, flags in setups:
        for code, root in roots:
            r = measure(root, flags, args.repeats)
            results[(setup, code)] = r
            print(f"{setup:<22} {code:<22} {r['idle'] * 1000:7.1f}ms {r['p50'] * 1000:8.1f}ms "
                  f"{r['p95'] * 1000:8.1f}ms {r['max'] * 1000:8.1f}ms {r['p95'] / r['idle']:9.1f} "
                  f"{r['probes']:7.0f}", flush=True)
    if args.before:
        for setup, _ in setups:
            new, old = results[(setup, roots[0][0])], results[(setup, roots[1][0])]
            print(f"{setup}: admitting p95 now / before = {new['p95'] / old['p95']:.2f}, "
                  f"max now / before = {new['max'] / old['max']:.2f}")


if __name__ == "__main__":
    main()
