"""Which scope a route needs: the one table the key middleware and the WebSocket consumers read.

Reading the catalog (voice and model lists) belongs to `speak`: a client must see what it can say.
Speaking in the voice of uploaded audio on a `speak` route (OpenAI `voice` as audio, Fish
`references`, LightTTS `prompt_wav`) needs `clone` as well; the cloning step checks that itself.
"""
from __future__ import annotations

ROUTE_SCOPES = (  # (exact paths, path prefixes, scope); first match wins
    (("/clone_voice", "/v1/clone_voice", "/inference_zero_shot", "/inference_zero_shot_bistream"), (), "clone"),
    (("/add_speaker", "/v1/add_speaker", "/delete_speaker", "/v1/delete_speaker", "/v1/references/add",
      "/v1/references/delete", "/v1/references/update"), (), "voices"),
    (("/generate_audio_enhanced_async", "/stop_generation"), ("/get_task_status/", "/download_result/",
                                                             "/stop_async_task/"), "tasks"),
    (("/metrics",), (), "metrics"),
)


def scope_for(path: str) -> str:
    """The scope a request to `path` needs (`speak` for every other API route)."""
    path = "/" + path.lstrip("/")
    for exact, prefixes, scope in ROUTE_SCOPES:
        if path in exact or (prefixes and path.startswith(prefixes)):
            return scope
    return "speak"


def missing_scope_message(scope: str) -> str:
    return f"This API key lacks the '{scope}' scope needed here"
