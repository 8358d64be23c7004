"""Health probes and metrics. Probes never need the API key."""
from django.http import HttpResponse, JsonResponse

from .. import metrics
from ..engines.registry import loaded_engines


async def ok(request):
    return JsonResponse({"message": "Ok"})


async def status_ok(request):
    return JsonResponse({"status": "ok"})


async def readiness(request):
    """503 while no engine is loaded, no worker serves an enabled engine, or admission would refuse."""
    from asgiref.sync import sync_to_async

    from .. import services

    if not loaded_engines() and not services.settings.REDIS_URL:
        return JsonResponse({"message": "Error", "detail": "TTS model is still loading"}, status=503)
    missing = await sync_to_async(services.get_dispatcher().unavailable, thread_sensitive=False)(
        set(services.settings.TTS_ENGINES))
    if missing:
        return JsonResponse({"message": "Error", "detail": missing}, status=503)
    reason = await sync_to_async(services.overload, thread_sensitive=False)()
    if reason:
        response = JsonResponse({"message": "Overloaded", "detail": reason}, status=503)
        response["Retry-After"] = "2"
        return response
    return JsonResponse({"message": "Ok"})


async def prometheus(request):
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
