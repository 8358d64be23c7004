"""A real daphne process running `manage.py serve`, for end-to-end tests and benchmarks."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from ttsproject.processes import ROOT, free_port, wait_for  # noqa: F401  (re-exported for tests)


class LiveServer:
    def __init__(self, data_dir: Path, *args: str, env: dict | None = None, root: Path = ROOT):
        """`root`: the checkout to run (benchmarks compare an older one side by side)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(data_dir / "server.log", "wb")
        environment = {**os.environ, "TTS_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
            cwd=root, env=environment, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120.0) -> "LiveServer":
        wait_for(self.process, self.log_text, self._answers_readiness, timeout, "server")
        return self

    def _answers_readiness(self) -> bool:
        try:
            return requests.get(f"{self.url}/readiness", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def wait_until(predicate, seconds: float = 120.0) -> bool:
    """Whether predicate() came to hold within `seconds`, checked as the other processes work."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


class InterruptedStream:
    """A streamed POST read in a thread, counting what arrives after `mark_interrupted()`."""

    def __init__(self, url: str, body: dict, headers: dict | None = None):
        self.first_audio, self._interrupted = threading.Event(), threading.Event()
        self.audio, self.bytes_after = b"", 0
        self._thread = threading.Thread(target=self._read, args=(url, body, headers or {}))
        self._thread.start()

    def _read(self, url, body, headers):
        with requests.post(url, json=body, headers=headers, stream=True, timeout=120) as response:
            self.headers = response.headers
            for chunk in response.iter_content(chunk_size=None):
                self.audio += chunk
                self.first_audio.set()
                if self._interrupted.is_set():
                    self.bytes_after += len(chunk)

    def mark_interrupted(self) -> None:
        self._interrupted.set()

    def join(self, seconds: float = 60.0) -> bool:
        """Whether the stream ended within `seconds`."""
        self._thread.join(seconds)
        return not self._thread.is_alive()
