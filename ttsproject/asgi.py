"""ASGI entry point for daphne: HTTP through Django (API paths with their own short middleware
chain, synthesis/api/handler.py), WebSockets through Channels consumers."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ttsproject.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from synthesis.routing import websocket_urlpatterns  # noqa: E402

from synthesis.api.guard import BodyGuard  # noqa: E402
from synthesis.api.handler import ApiHandler, by_path  # noqa: E402

application = ProtocolTypeRouter({
    "http": BodyGuard(by_path(django_asgi_app, ApiHandler())),
    "websocket": URLRouter(websocket_urlpatterns),
})
