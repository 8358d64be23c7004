"""Helper processes for end-to-end tests and the local cluster: redis-server, Celery workers."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository root, where manage.py is


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(process, log_text, ready, timeout: float, what: str) -> None:
    """Poll `ready()` until it holds; fail with the log tail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log_text()[-2000:]}")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready in {timeout}s: {log_text()[-2000:]}")


class RedisServer:
    """A private redis-server on a free port, keeping nothing on disk."""

    def __init__(self, workdir: Path, port: int | None = None):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/test installs it with apt-get)")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process = None
        self.binary = binary

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class WorkerPool:
    """`count` worker processes kept alive: one that dies is reaped and started again (at most
    `max_restarts` a minute each, so a worker that cannot start does not spin)."""

    def __init__(self, make, count: int, check_every: float = 2.0, max_restarts: int = 5):
        import threading

        self._make = make
        self.workers = {f"worker{i + 1}": make(f"worker{i + 1}") for i in range(count)}
        self._restarts: dict[str, list[float]] = {name: [] for name in self.workers}
        self._check_every, self._max_restarts = check_every, max_restarts
        self._stop = threading.Event()

    def wait_ready(self, timeout: float) -> None:
        for worker in self.workers.values():
            worker.wait_ready(timeout=timeout)

    def supervise(self) -> None:
        import threading

        threading.Thread(target=self._watch, name="tts-worker-supervisor", daemon=True).start()

    def _watch(self) -> None:
        import logging

        logger = logging.getLogger(__name__)
        while not self._stop.wait(self._check_every):
            for name, worker in list(self.workers.items()):
                code = worker.process.poll()  # also reaps a dead child (no <defunct> left)
                if code is None:
                    continue
                now = time.monotonic()
                recent = [t for t in self._restarts[name] if now - t < 60]
                if len(recent) >= self._max_restarts:
                    continue
                logger.warning("worker %s exited with %s; starting it again", name, code)
                worker.log.close()
                self._restarts[name] = [*recent, now]
                self.workers[name] = self._make(name)

    def stop(self) -> None:
        self._stop.set()
        for worker in self.workers.values():
            worker.stop()


class CeleryWorker:
    """`celery -A ttsproject worker` in its own process, logging to a file."""

    def __init__(self, workdir: Path, env: dict, name: str = "worker1", queues: str | None = None,
                 concurrency: int = 1):
        """`concurrency` > 1 runs segments in that many threads (LLM engines batch across them)."""
        engines = env.get("TTS_ENGINES", "piper,kokoro").split(",")
        queues = queues or ",".join(["tts"] + [f"tts.{e.strip()}" for e in engines])
        self.log_path = workdir / f"{name}.log"
        self.log = open(self.log_path, "wb")
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ttsproject", "worker", "-l", "info",
             *(["-P", "solo"] if concurrency <= 1 else ["-P", "threads", "-c", str(concurrency)]), "-Q", queues, "-n", f"{name}@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> "CeleryWorker":
        wait_for(self.process, self.log_text, lambda: "ready." in self.log_text(), timeout, "worker")
        return self

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
