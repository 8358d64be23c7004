"""The OpenSpeech binary frame parser and consumer: round trips, refusals, fuzzing."""
import asyncio
import gzip
import json
import struct

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from synthesis import protocol_openspeech as proto

from tests import openspeech_client
from tests.audio import decode

REQUEST = {"app": {"appid": "id", "token": "t", "cluster": "volcano_icl"}, "user": {"uid": "u"},
           "audio": {"voice_type": "fake_a", "encoding": "mp3", "speed_ratio": 1.0, "volume_ratio": 1.0,
                     "pitch_ratio": 1.0},
           "request": {"reqid": "r1", "text": "one two three. four five six.", "text_type": "plain",
                       "operation": "submit"}}


def test_a_client_frame_round_trips():
    assert proto.parse_client_frame(openspeech_client.build_client_frame(REQUEST)).payload == REQUEST
    assert proto.parse_client_frame(openspeech_client.build_client_frame(REQUEST, compress=False)).payload == REQUEST


@pytest.mark.parametrize("frame, reason", [
    (b"\x11", "shorter"),
    (b"\x21\x10\x11\x00" + b"\x00" * 4, "version"),
    (b"\x11\x20\x11\x00" + b"\x00" * 4, "message type"),
    (b"\x11\x10\x21\x00" + b"\x00" * 4, "serialization"),
    (b"\x11\x10\x11\x00" + struct.pack(">I", 10) + b"abc", "size"),
    (b"\x11\x10\x11\x00" + struct.pack(">I", 3) + b"abc", "gzip"),
    (b"\x11\x10\x10\x00" + struct.pack(">I", 3) + b"{x}", "JSON"),
    (b"\x11\x10\x10\x00" + struct.pack(">I", 2) + b"[]", "object"),
])
def test_malformed_frames_are_refused_with_a_reason(frame, reason):
    with pytest.raises(proto.FrameError, match=reason):
        proto.parse_client_frame(frame)


@given(st.binary(max_size=300))
def test_the_parser_never_fails_other_than_with_a_frame_error(data):
    try:
        proto.parse_client_frame(data)
    except proto.FrameError:
        pass


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=255), st.integers(min_value=0, max_value=255))
def test_the_parser_survives_bad_bodies_behind_a_valid_header(body, flags, compression):
    frame = bytes([0x11, 0x10 | (flags & 0x0F), 0x10 | (compression & 0x0F), 0]) + struct.pack(">I", len(body)) + body
    try:
        proto.parse_client_frame(frame)
    except proto.FrameError:
        pass


def test_error_and_audio_frames_parse_back():
    assert openspeech_client.parse_server_frame(proto.audio_frame(3, b"abc")) == ("audio", 3, b"abc")
    assert openspeech_client.parse_server_frame(proto.audio_frame(-4, b"")) == ("audio", -4, b"")
    kind, code, message = openspeech_client.parse_server_frame(proto.error_frame(3001, "bad"))
    assert kind == "error" and code == 3001 and json.loads(message)["message"] == "bad"


async def communicate(frames, headers=None):
    from ttsproject.asgi import application

    communicator = WebsocketCommunicator(application, "/api/v1/tts/ws_binary", headers=headers or [])
    connected, code = await communicator.connect()
    replies = []
    if connected:
        for frame in frames:
            await communicator.send_to(bytes_data=frame) if isinstance(frame, bytes) else \
                await communicator.send_to(text_data=frame)
            replies.extend(await receive_until_last(communicator))
        await communicator.disconnect()
    return connected, code, replies


async def receive_until_last(communicator):
    replies = []
    while True:
        message = await communicator.receive_output(timeout=20)
        if message["type"] == "websocket.close":
            replies.append(("close", message.get("code"), b""))
            return replies
        kind, number, payload = openspeech_client.parse_server_frame(message["bytes"])
        replies.append((kind, number, payload))
        if kind == "error" or number < 0:
            return replies


@pytest.mark.django_db(transaction=True)
def test_submit_streams_numbered_audio_frames_ending_negative(fake_voices):
    _, _, replies = asyncio.run(communicate([openspeech_client.build_client_frame(REQUEST)]))
    sequences = [n for kind, n, _ in replies]
    assert sequences[-1] < 0 and sequences[:-1] == list(range(1, len(sequences)))
    audio = b"".join(p for _, _, p in replies)
    samples, rate = decode(audio, "mp3")
    assert len(samples) / rate == pytest.approx(6 * 0.12 + 2 * 0.18, abs=0.2)


@pytest.mark.django_db(transaction=True)
def test_query_answers_with_one_last_frame(fake_voices):
    query = json.loads(json.dumps(REQUEST))
    query["request"]["operation"] = "query"
    query["audio"]["encoding"] = "wav"
    _, _, replies = asyncio.run(communicate([openspeech_client.build_client_frame(query)]))
    assert [(kind, n) for kind, n, _ in replies] == [("audio", -1)]
    assert decode(replies[0][2], "wav")[1] == 16000


@pytest.mark.django_db(transaction=True)
def test_a_bad_frame_gets_an_error_frame_and_the_connection_stays_usable(fake_voices):
    frames = [b"\x00garbage", "text is not allowed", openspeech_client.build_client_frame({"request": {"text": ""}}),
              openspeech_client.build_client_frame(REQUEST)]
    _, _, replies = asyncio.run(communicate(frames))
    kinds = [(kind, n) for kind, n, _ in replies]
    assert kinds[:3] == [("error", proto.INVALID_REQUEST), ("error", proto.INVALID_REQUEST),
                         ("error", proto.EMPTY_TEXT)]
    assert kinds[-1][0] == "audio" and kinds[-1][1] < 0


@pytest.mark.django_db(transaction=True)
@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=80))
def test_the_consumer_answers_any_bytes_with_an_error_frame(fake_voices, data):
    _, _, replies = asyncio.run(communicate([data]))
    assert replies and replies[0][0] in ("error", "audio")


@pytest.mark.django_db(transaction=True)
def test_the_api_key_is_checked_in_the_handshake(fake_voices, settings):
    settings.TTS_API_KEY = "k"
    from ttsproject.asgi import application

    async def wrong_key():
        communicator = WebsocketCommunicator(application, "/api/v1/tts/ws_binary",
                                             headers=[(b"authorization", b"Bearer; wrong")])
        assert (await communicator.connect())[0]
        return await receive_until_last(communicator), await communicator.receive_output(timeout=5)

    (error,), closed = asyncio.run(wrong_key())
    assert error[:2] == ("error", proto.UNAUTHORIZED)  # why, then close 4401
    assert closed == {"type": "websocket.close", "code": 4401}
    connected, _, replies = asyncio.run(communicate([openspeech_client.build_client_frame(REQUEST)],
                                                    headers=[(b"authorization", b"Bearer; k")]))
    assert connected and replies[-1][1] < 0


@pytest.mark.django_db(transaction=True)
def test_connections_over_the_limit_are_refused_with_a_close_code(fake_voices, settings):
    settings.TTS_WS_MAX_CONNECTIONS = 1
    from ttsproject.asgi import application

    async def scenario():
        first = WebsocketCommunicator(application, "/api/v1/tts/ws_binary")
        assert (await first.connect())[0]
        second = WebsocketCommunicator(application, "/api/v1/tts/ws_binary")
        await second.connect()
        error = await second.receive_output(timeout=5)
        closed = await second.receive_output(timeout=5)
        await first.disconnect()
        return error, closed

    error, closed = asyncio.run(scenario())
    assert openspeech_client.parse_server_frame(error["bytes"])[1] == proto.TOO_MANY_CONNECTIONS
    assert closed == {"type": "websocket.close", "code": 4503}  # 1013 is not a code a server may send


def test_gzip_bombs_are_refused():
    bomb = gzip.compress(b"{" + b" " * (proto.MAX_PAYLOAD + 10) + b"}")
    frame = bytes([0x11, 0x10, 0x11, 0]) + struct.pack(">I", len(bomb)) + bomb
    with pytest.raises(proto.FrameError, match="too large"):
        proto.parse_client_frame(frame)


@pytest.mark.django_db(transaction=True)
def test_a_second_request_while_one_runs_is_refused_and_a_disconnect_cancels_within_one_segment(fake_voices):
    import threading

    from tests.fakes import FakeEngine
    from ttsproject.asgi import application

    FakeEngine.gate = threading.Event()
    long_request = {**REQUEST, "request": {**REQUEST["request"], "text": "First part. " + "More words here. " * 10}}

    async def scenario():
        communicator = WebsocketCommunicator(application, "/api/v1/tts/ws_binary")
        assert (await communicator.connect())[0]
        await communicator.send_to(bytes_data=openspeech_client.build_client_frame(long_request))
        first = openspeech_client.parse_server_frame(await communicator.receive_from(timeout=10))
        await communicator.send_to(bytes_data=openspeech_client.build_client_frame(REQUEST))
        busy = openspeech_client.parse_server_frame(await communicator.receive_from(timeout=10))
        await communicator.disconnect()
        return first, busy

    first, busy = asyncio.run(scenario())
    FakeEngine.gate.set()
    # wait until the dispatcher has let go of the job (cancelled, or, were it never cancelled,
    # run to its end): only then is the count of segments final
    from synthesis import services

    dispatcher = services.get_dispatcher()
    ended = threading.Event()
    for _ in range(1000):
        if dispatcher.stats()["active_jobs"] == 0:
            ended.set()
            break
        ended.wait(0.01)
    assert ended.is_set(), "the job never ended"
    assert first[:2] == ("audio", 1)
    assert busy[:2] == ("error", proto.INVALID_REQUEST) and b"already running" in busy[2]
    assert len(FakeEngine.calls) <= 2  # the first segment and at most the one in flight
