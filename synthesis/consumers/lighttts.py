"""LightTTS /inference_zero_shot_bistream: JSON init, binary reference audio, then text messages.

Complete sentences are synthesized as soon as they are closed; a partial sentence waits for
more text, for `finish`, or for TTS_BISTREAM_IDLE_FLUSH seconds without new text (so a client
that waits for audio after each message is answered). Audio goes out as binary 16-bit PCM.
"""
from __future__ import annotations

import asyncio
import json

from asgiref.sync import sync_to_async
from django.conf import settings

from .. import services
from ..api.common import cloned_voice
from ..api.lighttts import engine_name_for, error_body
from ..audio.encoders import to_pcm16
from ..errors import PayloadTooLarge, TextTooLong, TTSError
from ..text.sentences import split_sentences
from ..types import SynthesisRequest, Turn
from .base import (CLOSE_BAD_MESSAGE, CLOSE_FORBIDDEN, CLOSE_NORMAL, CLOSE_NOT_FOUND, CLOSE_QUOTA,
                   CLOSE_SERVER_ERROR, CLOSE_TEXT_TOO_LONG, CLOSE_TOO_LARGE, CLOSE_UNAUTHORIZED, TTSConsumer)

CLOSE_FOR_STATUS = {403: CLOSE_FORBIDDEN, 404: CLOSE_NOT_FOUND, 413: CLOSE_TOO_LARGE, 422: CLOSE_TEXT_TOO_LONG,
                    429: CLOSE_QUOTA}

AWAIT_INIT, AWAIT_AUDIO, AWAIT_TEXT, FINISHING = "init", "audio", "text", "finishing"


def split_complete(buffer: str) -> tuple[list[str], str]:
    """(complete sentences, the unfinished rest) of the text received so far."""
    pieces, rest = split_sentences(buffer, final=False)
    return [s for s in (piece.strip() for piece in pieces) if s], rest


class BistreamConsumer(TTSConsumer):
    dialect = "lighttts"

    async def on_open(self):
        self.state = AWAIT_INIT
        self.buffer = ""
        self.voice = None
        self.queue: asyncio.Queue = asyncio.Queue()
        self.sender = asyncio.create_task(self.send_audio())
        self.idle_flush = None

    async def receive(self, text_data=None, bytes_data=None):
        try:
            if self.state == AWAIT_INIT:
                await self.handle_init(self.json(text_data))
            elif self.state == AWAIT_AUDIO:
                await self.handle_audio(bytes_data)
            elif self.state == AWAIT_TEXT:
                await self.handle_text(self.json(text_data))
            else:
                raise ProtocolError("no message is expected after finish")
        except ProtocolError as e:
            await self.fail(CLOSE_BAD_MESSAGE, 400, str(e))
        except TextTooLong as e:  # LightTTS answers 422 for text over the limit
            await self.fail(CLOSE_TEXT_TOO_LONG, 422, e.message)
        except TTSError as e:
            await self.fail(CLOSE_FOR_STATUS.get(e.status, CLOSE_BAD_MESSAGE), e.status, e.message)

    def json(self, text_data) -> dict:
        if text_data is None:
            raise ProtocolError(f"expected a JSON text message in state '{self.state}', got binary")
        try:
            data = json.loads(text_data)
        except ValueError as e:
            raise ProtocolError(f"malformed JSON: {e}") from e
        if not isinstance(data, dict):
            raise ProtocolError("a message must be a JSON object")
        return data

    async def handle_init(self, data: dict):
        if "tts_text" in data:
            raise ProtocolError("send the init message (prompt_text, tts_model_name) first")
        self.engine_name = await sync_to_async(engine_name_for)(str(data.get("tts_model_name") or "default"))
        prompt_text = data.get("prompt_text") or ""
        if not isinstance(prompt_text, str):
            raise ProtocolError("prompt_text must be a string")
        self.prompt_text = prompt_text
        self.state = AWAIT_AUDIO

    async def handle_audio(self, data: bytes | None):
        if data is None:
            raise ProtocolError("expected the reference audio as one binary message")
        if len(data) > settings.TTS_MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"reference audio is larger than {settings.TTS_MAX_UPLOAD_BYTES} bytes")
        self.voice = await cloned_voice(data, "prompt_wav", engine=self.engine_name, text=self.prompt_text)
        self.state = AWAIT_TEXT

    async def handle_text(self, data: dict):
        text = data.get("tts_text", "")
        if not isinstance(text, str):
            raise ProtocolError("tts_text must be a string")
        finish = data.get("finish", False)
        if not isinstance(finish, bool) and finish not in (0, 1):  # "false" would have ended the stream
            raise ProtocolError("finish must be true or false")
        if len(self.buffer) + len(text) > settings.TTS_MAX_TEXT_LENGTH:
            raise TextTooLong(f"Maximum text length is {settings.TTS_MAX_TEXT_LENGTH} characters")
        self.buffer += text
        complete, self.buffer = split_complete(self.buffer)
        for sentence in complete:
            self.queue.put_nowait(sentence)
        self.cancel_idle_flush()
        if finish:
            if self.buffer.strip():
                self.queue.put_nowait(self.buffer.strip())
            self.buffer = ""
            self.state = FINISHING
            self.queue.put_nowait(None)
        elif self.buffer.strip():
            self.idle_flush = asyncio.get_running_loop().call_later(settings.TTS_BISTREAM_IDLE_FLUSH, self.flush)

    def flush(self):
        if self.buffer.strip() and self.state == AWAIT_TEXT:
            self.queue.put_nowait(self.buffer.strip())
            self.buffer = ""

    def cancel_idle_flush(self):
        if self.idle_flush is not None:
            self.idle_flush.cancel()
            self.idle_flush = None

    async def send_audio(self):
        """Synthesize queued text in order and send PCM as it comes; close after finish."""
        rate = settings.TTS_LIGHTTTS_SAMPLE_RATE
        try:
            while (text := await self.queue.get()) is not None:
                job = await services.astart_synthesis(SynthesisRequest([Turn(self.voice, text)], sample_rate=rate,
                                                                dialect="lighttts"))
                self.jobs = [job]
                async for chunk in job:
                    await self.send(bytes_data=to_pcm16(chunk.samples))
            await self.close(code=CLOSE_NORMAL)
        except asyncio.CancelledError:
            raise
        except TTSError as e:  # refused when submitted (a quota, a language, overload)
            await self.fail(CLOSE_FOR_STATUS.get(e.status, CLOSE_SERVER_ERROR), e.status, e.message)
        except Exception as e:  # an engine failure ends this stream, not the server
            await self.fail(CLOSE_SERVER_ERROR, 500, f"synthesis failed: {e}")

    async def refuse_unauthorized(self):
        await self.fail(CLOSE_UNAUTHORIZED, 401, "Invalid or missing API key: send Authorization: Bearer <key>")

    async def refuse_forbidden(self, message: str):
        await self.fail(CLOSE_FORBIDDEN, 403, message)

    async def refuse_quota(self, message: str):
        await self.fail(CLOSE_QUOTA, 429, message)

    async def fail(self, close_code: int, status: int, message: str):
        await self.send(text_data=json.dumps(error_body(status, message)))
        await self.close(code=close_code)

    async def on_close(self):
        if hasattr(self, "idle_flush"):
            self.cancel_idle_flush()
        sender = getattr(self, "sender", None)
        if sender is not None and not sender.done() and sender is not asyncio.current_task():
            sender.cancel()


class ProtocolError(Exception):
    pass
