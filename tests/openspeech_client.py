"""The client side of the OpenSpeech binary protocol (what a client sends, reading what the server
sends), for the tests and the benchmarks; the server side is synthesis/protocol_openspeech.py."""
import gzip
import json
import struct

from synthesis.protocol_openspeech import (AUDIO_ONLY_RESPONSE, ERROR_RESPONSE, FULL_CLIENT_REQUEST, GZIP,
                                           JSON_SERIALIZATION, NO_COMPRESSION, VERSION)


def build_client_frame(payload: dict, compress: bool = True) -> bytes:
    """What a client sends."""
    body = json.dumps(payload).encode()
    if compress:
        body = gzip.compress(body)
    header = bytes([(VERSION << 4) | 1, FULL_CLIENT_REQUEST << 4,
                    (JSON_SERIALIZATION << 4) | (GZIP if compress else NO_COMPRESSION), 0])
    return header + struct.pack(">I", len(body)) + body


def parse_server_frame(frame: bytes) -> tuple[str, int, bytes]:
    """(kind, sequence or code, audio bytes or decoded message) of a server frame."""
    header_size = frame[0] & 0x0F
    message_type, flags = frame[1] >> 4, frame[1] & 0x0F
    payload = frame[header_size * 4:]
    if message_type == AUDIO_ONLY_RESPONSE:
        if flags == 0:
            return "ack", 0, b""
        sequence, size = struct.unpack(">iI", payload[:8])
        return "audio", sequence, payload[8:8 + size]
    if message_type == ERROR_RESPONSE:
        code, size = struct.unpack(">II", payload[:8])
        return "error", code, gzip.decompress(payload[8:8 + size])
    return "other", 0, payload
