from django.urls import path

from .api import flashtts, health, openai

flash_synthesis = [
    ("speak", flashtts.SpeakView),
    ("multi_speak", flashtts.MultiSpeakView),
    ("add_speaker", flashtts.AddSpeakerView),
    ("delete_speaker", flashtts.DeleteSpeakerView),
    ("audio_roles", flashtts.AudioRolesView),
]

urlpatterns = [
    *[path(route, view.as_view(), name=route) for route, view in flash_synthesis],
    *[path(f"v1/{route}", view.as_view(), name=f"v1-{route}") for route, view in flash_synthesis],
    path("v1/audio/speech", openai.SpeechView.as_view(), name="openai-speech"),
    path("v1/models", openai.ModelsView.as_view(), name="openai-models"),
    path("v1/audio/voices", openai.VoicesView.as_view(), name="openai-voices"),
    path("healthz", health.health),
    path("health", health.health),
    path("readiness", health.readiness),
]
