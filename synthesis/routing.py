from django.urls import path

from .consumers.lighttts import BistreamConsumer
from .consumers.openspeech import BinaryTTSConsumer

websocket_urlpatterns = [
    path("inference_zero_shot_bistream", BistreamConsumer.as_asgi()),
    path("api/v1/tts/ws_binary", BinaryTTSConsumer.as_asgi()),
]
