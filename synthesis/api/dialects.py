"""Which API dialect a request path belongs to: the one table that auth errors and metrics read."""
from __future__ import annotations

DIALECT_PATHS = (  # first match wins
    ("openai", ("/v1/audio/speech", "/v1/models", "/v1/audio/voices")),
    ("lighttts", ("/inference_zero_shot", "/query_tts_model")),
    ("fish", ("/v1/tts", "/v1/references", "/v1/vqgan", "/v1/health", "/generate_audio_enhanced_async",
              "/get_task_status", "/download_result", "/stop_generation", "/stop_async_task")),
    ("openspeech", ("/api/",)),
)


def dialect_for(path: str) -> str:
    """The dialect whose paths `path` starts with; flashtts for the rest."""
    for dialect, prefixes in DIALECT_PATHS:
        if path.startswith(prefixes):
            return dialect
    return "flashtts"
