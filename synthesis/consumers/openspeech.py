"""/api/v1/tts/ws_binary: the OpenSpeech binary protocol over the shared pipeline.

`submit` streams audio-only frames with sequence numbers 1, 2, ... and a negative one on the
last; `query` answers with the whole audio in one last frame. Any malformed frame gets an
error frame and the connection stays usable.
"""
from __future__ import annotations

import asyncio
import math


from .. import protocol_openspeech as proto
from .. import services
from ..streaming import encoded_stream, encoded_whole
from ..api.openspeech import resolve_voice_type
from ..errors import TTSError
from ..types import SynthesisRequest, Turn
from .base import TTSConsumer

ENCODINGS = {"mp3": "mp3", "wav": "wav", "pcm": "pcm", "ogg_opus": "opus", "opus": "opus"}
RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)


def _ratio(section: dict, name: str, low: float, high: float) -> float:
    value = section.get(name, 1.0)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise proto.FrameError(f"audio.{name} must be a number from {low} to {high}")
    return float(value)


class BinaryTTSConsumer(TTSConsumer):
    dialect = "openspeech"

    running: asyncio.Task | None = None

    async def refuse_unauthorized(self):
        await self.send(bytes_data=proto.error_frame(proto.UNAUTHORIZED, "invalid auth token"))
        await super().refuse_unauthorized()

    async def refuse_forbidden(self, message: str):
        await self.send(bytes_data=proto.error_frame(proto.UNAUTHORIZED, message))
        await super().refuse_forbidden(message)

    async def refuse_quota(self, message: str):
        await self.send(bytes_data=proto.error_frame(proto.TOO_MANY_CONNECTIONS, message))
        await super().refuse_quota(message)

    async def refuse_busy(self):
        await self.send(bytes_data=proto.error_frame(proto.TOO_MANY_CONNECTIONS, "too many connections"))
        await super().refuse_busy()

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is None:
            await self.error(proto.INVALID_REQUEST, "send binary frames, not text messages")
            return
        if self.running is not None and not self.running.done():
            await self.error(proto.INVALID_REQUEST, "a request is already running on this connection")
            return
        try:
            request = proto.parse_client_frame(bytes_data)
            synthesis_request, fmt, operation = await self.build(request)
        except proto.FrameError as e:
            await self.error(e.code, str(e))
            return
        except TTSError as e:
            await self.error(self.code_of(e), e.message)
            return
        # Synthesis runs beside the receive loop, so a disconnect is seen (and cancels it) at once.
        self.running = asyncio.create_task(self.run(synthesis_request, fmt, operation))

    @staticmethod
    def code_of(error: TTSError) -> int:
        return proto.TEXT_TOO_LONG if error.code == "text_too_long" else proto.INVALID_REQUEST

    async def run(self, request: SynthesisRequest, fmt: str, operation: str):
        try:
            await self.respond(request, fmt, operation)
        except asyncio.CancelledError:
            raise
        except TTSError as e:  # refused when admitted (a voice that cannot speak the text, overload)
            await self.error(self.code_of(e), e.message)
        except Exception as e:  # an engine failure: tell this client, keep serving others
            await self.error(proto.SYNTHESIS_ERROR, f"synthesis failed: {e}")

    async def on_close(self):
        if self.running is not None and not self.running.done():
            self.running.cancel()

    async def build(self, request: proto.ClientRequest):
        audio, req = request.section("audio"), request.section("request")
        operation = req.get("operation", "submit")
        if operation not in ("submit", "query"):
            raise proto.FrameError("request.operation must be 'submit' or 'query'")
        text = req.get("text")
        if not isinstance(text, str) or not text.strip():
            raise proto.FrameError("request.text must be a non-empty string", proto.EMPTY_TEXT)
        services.check_text(text)
        encoding = audio.get("encoding", "mp3")
        if encoding not in ENCODINGS:
            raise proto.FrameError(f"audio.encoding must be one of {', '.join(ENCODINGS)}")
        rate = audio.get("rate")
        if rate is not None and rate not in RATES:
            raise proto.FrameError(f"audio.rate must be one of {', '.join(map(str, RATES))}")
        speed = _ratio(audio, "speed_ratio", 0.2, 3.0)
        volume = _ratio(audio, "volume_ratio", 0.1, 3.0)
        pitch = max(-12.0, min(12.0, 12 * math.log2(_ratio(audio, "pitch_ratio", 0.1, 3.0))))
        voice_type = audio.get("voice_type")
        voice = await resolve_voice_type(voice_type if isinstance(voice_type, str) else None, text)
        return (SynthesisRequest([Turn(voice, text)], speed=speed, pitch=pitch, volume=volume, sample_rate=rate,
                                 dialect="openspeech"), ENCODINGS[encoding], operation)

    async def respond(self, request: SynthesisRequest, fmt: str, operation: str):
        job = await services.astart_synthesis(request)
        self.jobs = [job]
        if operation == "query":
            await self.send(bytes_data=proto.audio_frame(-1, await encoded_whole(job, fmt)))
            return
        # Each frame leaves as soon as its audio exists; an empty last frame carries the negative number.
        sequence = 0
        async for data in encoded_stream(job, fmt):
            sequence += 1
            await self.send(bytes_data=proto.audio_frame(sequence, data))
        await self.send(bytes_data=proto.audio_frame(-(sequence + 1), b""))

    async def error(self, code: int, message: str):
        await self.send(bytes_data=proto.error_frame(code, message))


