from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from .api import schema  # noqa: F401  (attaches the OpenAPI descriptions)

from . import views
from .api import fish, flashtts, health, lighttts, openai, openspeech

flash_synthesis = [
    ("speak", flashtts.SpeakView),
    ("multi_speak", flashtts.MultiSpeakView),
    ("clone_voice", flashtts.CloneVoiceView),
    ("add_speaker", flashtts.AddSpeakerView),
    ("delete_speaker", flashtts.DeleteSpeakerView),
    ("audio_roles", flashtts.AudioRolesView),
]

urlpatterns = [
    path("", views.index, name="index"),
    path("ui", views.index, name="ui"),
    path("docs/websockets", views.websocket_docs, name="websocket-docs"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("voices/<str:name>/preview", views.voice_preview, name="voice-preview"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
    *[path(route, view.as_view(), name=route) for route, view in flash_synthesis],
    *[path(f"v1/{route}", view.as_view(), name=f"v1-{route}") for route, view in flash_synthesis],
    path("v1/audio/speech", openai.SpeechView.as_view(), name="openai-speech"),
    path("v1/models", openai.ModelsView.as_view(), name="openai-models"),
    path("v1/audio/voices", openai.VoicesView.as_view(), name="openai-voices"),
    path("v1/tts", fish.TTSView.as_view(), name="fish-tts"),
    path("v1/references/add", fish.AddReferenceView.as_view()),
    path("v1/references/list", fish.ListReferencesView.as_view()),
    path("v1/references/delete", fish.DeleteReferenceView.as_view()),
    path("v1/references/update", fish.UpdateReferenceView.as_view()),
    path("v1/vqgan/encode", fish.VQGANEncodeView.as_view()),
    path("v1/vqgan/decode", fish.VQGANDecodeView.as_view()),
    path("inference_zero_shot", lighttts.ZeroShotView.as_view(), name="lighttts-zero-shot"),
    path("query_tts_model", lighttts.QueryModelsView.as_view(), name="lighttts-models"),
    path("api/tts/stream", openspeech.StreamView.as_view(), name="openspeech-stream"),
    path("api/tts/interrupt", openspeech.InterruptView.as_view(), name="openspeech-interrupt"),
    path("api/healthz", health.status_ok),
    path("v1/health", health.status_ok),
    path("healthz", health.ok),
    path("health", health.ok),
    path("liveness", health.ok),
    path("readiness", health.readiness),
    path("metrics", health.prometheus),
]
