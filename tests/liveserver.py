"""A real daphne process running `manage.py serve`, for end-to-end tests and benchmarks."""
from __future__ import annotations

import os
import subprocess
import sys
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
