"""The web page for people and the WebSocket protocol docs page."""
from django.conf import settings
from django.shortcuts import render

from .api.common import LEVELS
from .audio.encoders import FORMATS


def index(request):
    return render(request, "index.html", {"api_key_required": bool(settings.TTS_API_KEY), "levels": LEVELS,
                                          "formats": FORMATS, "max_text_length": settings.TTS_MAX_TEXT_LENGTH})


def websocket_docs(request):
    return render(request, "websockets.html")
