"""The web page for people and the WebSocket protocol docs page."""
from django.conf import settings
from django.shortcuts import render

from . import keys
from .api.common import LEVELS
from .audio.encoders import FORMATS


# The pages load only their own script, styles and the audio they make (blob: URLs).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "frame-ancestors 'none'; form-action 'self'")


def with_policy(response):
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def index(request):
    return with_policy(render(request, "index.html", {
        "api_key_required": keys.keys_required(), "levels": LEVELS, "formats": FORMATS,
        "max_text_length": settings.TTS_MAX_TEXT_LENGTH}))


def websocket_docs(request):
    return with_policy(render(request, "websockets.html"))
