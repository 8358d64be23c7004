"""Health probes: never behind the API key."""
from django.http import JsonResponse

from ..engines.registry import loaded_engines


async def health(request):
    return JsonResponse({"status": "ok"})


async def readiness(request):
    if not loaded_engines():
        return JsonResponse({"message": "No engine loaded"}, status=503)
    return JsonResponse({"message": "Ok"})
