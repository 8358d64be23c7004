"""The web page for people, the WebSocket protocol docs page, voice previews and the favicon."""
import logging
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from voices.samples import stored_sample

from .errors import TTSError

from . import keys
from .api.common import LEVELS
from .audio.encoders import FORMATS


# The pages load only their own script, styles and the audio they make (blob: URLs).
logger = logging.getLogger(__name__)
FAVICON = Path(__file__).parent / "static" / "tts" / "favicon.svg"
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


@require_GET
def voice_preview(request, name):
    """The voice's stored sample (mp3): made once, the first time anyone asks, then served as is."""
    try:
        voice = stored_sample(name)
    except TTSError as e:
        return JsonResponse({"detail": e.message}, status=e.status)
    except Exception as e:  # an engine's failure: say it, never a bare 500 page
        logger.exception("sample of voice %r failed", name)
        return JsonResponse({"detail": f"the sample could not be made: {e}"}, status=500)
    handle = voice.sample_audio.open("rb")
    response = FileResponse(handle, content_type="audio/mpeg")
    response["Cache-Control"] = "private, max-age=3600"
    rate = _sample_rate(handle)
    if rate:
        response["X-Sample-Rate"] = str(rate)
    return response


def _sample_rate(handle) -> int | None:
    """The rate a stored mp3 sample was encoded at (its engine's), read from its first frames; None
    when the file cannot say (it is still served)."""
    import av

    try:
        with av.open(handle) as container:
            rate = container.streams.audio[0].rate
    except (av.FFmpegError, IndexError, ValueError):
        logger.warning("the stored sample %s does not say its sample rate", getattr(handle, "name", "?"))
        rate = None
    handle.seek(0)
    return rate


@require_GET
def favicon(request):
    return HttpResponse(FAVICON.read_bytes(), content_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})
