"""OpenSpeech binary WebSocket framing (seed 004): parse client requests, build responses.

Header, 4 bytes: version(4b) header_size(4b, in 4-byte words) | message type(4b) flags(4b) |
serialization(4b) compression(4b) | reserved; then header extensions, then the payload.
A full client request carries a 4-byte big-endian payload size and the (gzip) JSON.
"""
from __future__ import annotations

import gzip
import json
import struct
import zlib
from dataclasses import dataclass

VERSION = 0b0001
FULL_CLIENT_REQUEST = 0b0001
AUDIO_ONLY_RESPONSE = 0b1011
FRONTEND_RESPONSE = 0b1100
ERROR_RESPONSE = 0b1111
NO_SERIALIZATION, JSON_SERIALIZATION = 0b0000, 0b0001
NO_COMPRESSION, GZIP = 0b0000, 0b0001
MAX_PAYLOAD = 1 << 20

# Error codes sent in error frames (documented in the README).
INVALID_REQUEST = 3001
TOO_MANY_CONNECTIONS = 3003
TEXT_TOO_LONG = 3010
EMPTY_TEXT = 3011
SYNTHESIS_ERROR = 3031
UNAUTHORIZED = 3050


class FrameError(ValueError):
    def __init__(self, message: str, code: int = INVALID_REQUEST):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ClientRequest:
    payload: dict

    def section(self, name: str) -> dict:
        value = self.payload.get(name) or {}
        if not isinstance(value, dict):
            raise FrameError(f"'{name}' must be an object")
        return value


def parse_client_frame(frame: bytes) -> ClientRequest:
    """A full client request, or FrameError saying what is wrong with the frame."""
    if not isinstance(frame, (bytes, bytearray)) or len(frame) < 4:
        raise FrameError("frame shorter than its 4-byte header")
    version, header_size = frame[0] >> 4, frame[0] & 0x0F
    message_type = frame[1] >> 4
    serialization, compression = frame[2] >> 4, frame[2] & 0x0F
    if version != VERSION:
        raise FrameError(f"unsupported protocol version {version}")
    if header_size < 1 or len(frame) < header_size * 4:
        raise FrameError("bad header size")
    if message_type != FULL_CLIENT_REQUEST:
        raise FrameError(f"unsupported message type {message_type:#x}; expected a full client request")
    if serialization != JSON_SERIALIZATION:
        raise FrameError("payload serialization must be JSON")
    if compression not in (NO_COMPRESSION, GZIP):
        raise FrameError("payload compression must be none or gzip")
    body = frame[header_size * 4:]
    if len(body) < 4:
        raise FrameError("missing payload size")
    size = struct.unpack(">I", body[:4])[0]
    payload = body[4:]
    if size != len(payload):
        raise FrameError(f"payload size field says {size} bytes, frame holds {len(payload)}")
    if size > MAX_PAYLOAD:
        raise FrameError("payload too large")
    if compression == GZIP:
        try:
            payload = _gunzip(payload)
        except (OSError, EOFError, zlib.error) as e:
            raise FrameError(f"payload is not valid gzip: {e}") from e
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FrameError(f"payload is not valid JSON: {e}") from e
    except RecursionError as e:
        raise FrameError("payload JSON is nested too deeply") from e
    if not isinstance(data, dict):
        raise FrameError("payload must be a JSON object")
    return ClientRequest(data)


def _gunzip(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(data, MAX_PAYLOAD + 1)
    if len(out) > MAX_PAYLOAD:
        raise FrameError("decompressed payload too large")
    return out


def audio_frame(sequence: int, audio: bytes) -> bytes:
    """An audio-only response: positive sequence numbers, negative on the last."""
    flags = 0b0011 if sequence < 0 else 0b0001
    header = bytes([(VERSION << 4) | 1, (AUDIO_ONLY_RESPONSE << 4) | flags, 0, 0])
    return header + struct.pack(">iI", sequence, len(audio)) + audio


def error_frame(code: int, message: str) -> bytes:
    body = gzip.compress(json.dumps({"code": code, "message": message}).encode())
    header = bytes([(VERSION << 4) | 1, ERROR_RESPONSE << 4, (JSON_SERIALIZATION << 4) | GZIP, 0])
    return header + struct.pack(">II", code, len(body)) + body
