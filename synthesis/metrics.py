"""Prometheus metrics: the LightTTS names plus time to first audio, real-time factor, queue, streams."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUEST_COUNT = Counter("lightllm_request_count", "Requests received", ["endpoint", "dialect"])
REQUEST_SUCCESS = Counter("lightllm_request_success", "Requests answered below 400", ["endpoint", "dialect"])
REQUEST_FAILURE = Counter("lightllm_request_failure", "Requests answered 400 or above", ["endpoint", "dialect"])
REQUEST_LATENCY = Histogram("lightllm_request_latency", "Seconds from request to the last byte",
                            ["endpoint", "dialect"],
                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))
TIME_TO_FIRST_AUDIO = Histogram("tts_time_to_first_audio_seconds", "Seconds from submit to the first audio chunk",
                                ["dialect", "engine"], buckets=(0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5, 10))
REAL_TIME_FACTOR = Histogram("tts_real_time_factor", "Synthesis seconds per second of audio",
                             ["dialect", "engine"], buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5))
QUEUE_DEPTH = Gauge("tts_queue_depth", "Segments waiting for a synthesis worker")
ACTIVE_JOBS = Gauge("tts_active_jobs", "Synthesis jobs started and not finished")
STREAM_FAILURES = Counter("tts_synthesis_failures", "Synthesis failures, before or after a response's first audio",
                          ["dialect", "stage"])
ACTIVE_STREAMS = Gauge("tts_active_streams", "Open streaming responses and WebSocket sessions", ["dialect"])
KEY_REQUESTS = Counter("tts_key_requests", "API requests (HTTP requests, WebSocket connections) per API key",
                       ["key", "dialect", "engine"])
KEY_CHARACTERS = Counter("tts_key_characters", "Characters submitted for synthesis per API key",
                         ["key", "dialect", "engine"])
KEY_AUDIO_SECONDS = Counter("tts_key_audio_seconds", "Seconds of audio synthesized per API key",
                            ["key", "dialect", "engine"])


def observe_job(dialect: str, engine: str, ttfa: float | None, seconds: float, audio_seconds: float) -> None:
    if ttfa is not None:
        TIME_TO_FIRST_AUDIO.labels(dialect=dialect or "unknown", engine=engine).observe(ttfa)
    if audio_seconds > 0:
        REAL_TIME_FACTOR.labels(dialect=dialect or "unknown", engine=engine).observe(seconds / audio_seconds)


def bind_dispatcher(stats) -> None:
    """Read queue depth and active jobs from the dispatcher when scraped."""
    QUEUE_DEPTH.set_function(lambda: stats().get("queued_segments", 0))
    ACTIVE_JOBS.set_function(lambda: stats().get("active_jobs", 0))


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
