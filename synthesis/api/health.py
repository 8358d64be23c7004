"""Health probes and metrics. Probes never need the API key."""
from django.http import HttpResponse, JsonResponse

from .. import metrics
from ..engines.registry import loaded_engines


async def ok(request):
    return JsonResponse({"message": "Ok"})


async def status_ok(request):
    return JsonResponse({"status": "ok"})


async def readiness(request):
    if not loaded_engines():
        return JsonResponse({"message": "Error", "detail": "TTS model is still loading"}, status=503)
    return JsonResponse({"message": "Ok"})


async def prometheus(request):
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
