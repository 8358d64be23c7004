from django.urls import path, re_path

from .consumers.base import NoSuchPath
from .consumers.lighttts import BistreamConsumer
from .consumers.openspeech import BinaryTTSConsumer

websocket_urlpatterns = [
    path("inference_zero_shot_bistream", BistreamConsumer.as_asgi()),
    path("api/v1/tts/ws_binary", BinaryTTSConsumer.as_asgi()),
    re_path(r"", NoSuchPath.as_asgi()),
]
