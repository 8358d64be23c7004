"""LightTTS /inference_zero_shot_bistream through the Channels consumer (in-process)."""
import asyncio
import json
import threading

import pytest
from channels.testing import WebsocketCommunicator

from synthesis import services
from synthesis.consumers.lighttts import split_complete
from tests.audio import tone_wav
from tests.fakes import FakeEngine

pytestmark = pytest.mark.django_db(transaction=True)
INIT = json.dumps({"prompt_text": "friendly", "tts_model_name": "default"})


def test_complete_sentences_are_split_from_the_unfinished_rest():
    assert split_complete("Hello there. How are") == (["Hello there."], "How are")
    assert split_complete("你好。今天") == (["你好。"], "今天")
    assert split_complete("no end yet") == ([], "no end yet")
    assert split_complete("It costs 3.") == ([], "It costs 3.")


async def open_stream():
    from ttsproject.asgi import application

    communicator = WebsocketCommunicator(application, "/inference_zero_shot_bistream")
    assert (await communicator.connect())[0]
    return communicator


async def drain(communicator, timeout=10):
    """Binary PCM until the server closes; returns (pcm bytes, text messages, close code)."""
    pcm, texts = b"", []
    while True:
        message = await communicator.receive_output(timeout=timeout)
        if message["type"] == "websocket.close":
            return pcm, texts, message.get("code")
        if message.get("bytes") is not None:
            pcm += message["bytes"]
        else:
            texts.append(json.loads(message["text"]))


def test_text_streams_in_and_pcm_streams_out_until_finish(fake_voices, settings):
    settings.TTS_BISTREAM_IDLE_FLUSH = 60  # "four" waits for the rest of its sentence, however slow the machine

    async def scenario():
        ws = await open_stream()
        await ws.send_to(text_data=INIT)
        await ws.send_to(bytes_data=tone_wav())
        await ws.send_to(text_data=json.dumps({"tts_text": "one two three. four", "finish": False}))
        first = await ws.receive_output(timeout=10)  # the closed sentence, before any more text
        await ws.send_to(text_data=json.dumps({"tts_text": " five six.", "finish": True}))
        rest, texts, code = await drain(ws)
        return first["bytes"] + rest, texts, code

    pcm, texts, code = asyncio.run(scenario())
    assert texts == [] and code == 1000
    assert FakeEngine.calls[0] == "one two three.", FakeEngine.calls
    assert len(pcm) / 2 / 16000 == pytest.approx(6 * 0.12 + 2 * 0.18, abs=0.15), FakeEngine.calls


def test_a_partial_sentence_is_flushed_when_the_client_pauses(fake_voices, settings):
    settings.TTS_BISTREAM_IDLE_FLUSH = 0.1

    async def scenario():
        ws = await open_stream()
        await ws.send_to(text_data=INIT)
        await ws.send_to(bytes_data=tone_wav())
        await ws.send_to(text_data=json.dumps({"tts_text": "你好", "finish": False}))
        chunk = await ws.receive_output(timeout=10)
        await ws.disconnect()
        return chunk

    assert len(asyncio.run(scenario())["bytes"]) > 0


def test_a_wrong_key_gets_an_error_message_and_close_4401(fake_voices, settings):
    settings.TTS_API_KEY = "k"

    async def scenario():
        from ttsproject.asgi import application

        ws = WebsocketCommunicator(application, "/inference_zero_shot_bistream",
                                   headers=[(b"authorization", b"Bearer wrong")])
        assert (await ws.connect())[0]
        return await drain(ws)

    _, texts, code = asyncio.run(scenario())
    assert code == 4401 and texts[0]["error_code"] == "UNAUTHORIZED"


def test_text_over_the_limit_closes_4422_as_documented(fake_voices, settings):
    settings.TTS_MAX_TEXT_LENGTH = 20

    async def scenario():
        ws = await open_stream()
        await ws.send_to(text_data=INIT)
        await ws.send_to(bytes_data=tone_wav())
        await ws.send_to(text_data=json.dumps({"tts_text": "x" * 30, "finish": False}))
        return await drain(ws)

    _, texts, code = asyncio.run(scenario())
    assert code == 4422 and texts[0]["error_code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("messages, reason", [
    ([{"bytes": b"RIFF"}], "expected a JSON text message"),
    ([{"text": "{not json"}], "malformed JSON"),
    ([{"text": json.dumps({"tts_text": "hi", "finish": True})}], "init message"),
    ([{"text": INIT}, {"text": json.dumps({"tts_text": "hi"})}], "reference audio"),
    ([{"text": INIT}, {"bytes": b"not audio at all" * 10}], "not decodable"),
    ([{"text": INIT}, {"bytes": tone_wav()}, {"text": json.dumps({"tts_text": "hi", "finish": "false"})}],
     "finish must be true or false"),
])
def test_out_of_order_or_malformed_messages_get_an_error_and_a_close(fake_voices, messages, reason):
    async def scenario():
        ws = await open_stream()
        for message in messages:
            await ws.send_to(text_data=message.get("text"), bytes_data=message.get("bytes"))
        return await drain(ws)

    _, texts, code = asyncio.run(scenario())
    assert code in (4400,) and reason in texts[0]["detail"]
    assert set(texts[0]) == {"message", "detail", "error_code"}


def test_an_unknown_model_closes_with_4404(fake_voices):
    async def scenario():
        ws = await open_stream()
        await ws.send_to(text_data=json.dumps({"prompt_text": "p", "tts_model_name": "NoSuchModel"}))
        return await drain(ws)

    _, texts, code = asyncio.run(scenario())
    assert code == 4404 and texts[0]["error_code"] == "NOT_FOUND"


def test_a_client_that_disconnects_cancels_its_work(fake_voices):
    FakeEngine.gate = threading.Event()

    async def scenario():
        ws = await open_stream()
        await ws.send_to(text_data=INIT)
        await ws.send_to(bytes_data=tone_wav())
        text = "First one. " + "Then more text follows. " * 10
        await ws.send_to(text_data=json.dumps({"tts_text": text, "finish": True}))
        await ws.receive_output(timeout=10)
        await ws.disconnect()
        FakeEngine.gate.set()
        # wait until the dispatcher has let go of the job (cancelled, or, were it never
        # cancelled, run to its end): only then is the count of segments final
        dispatcher = services.get_dispatcher()
        for _ in range(1000):
            if dispatcher.stats()["active_jobs"] == 0:
                break
            await asyncio.sleep(0.01)
        assert dispatcher.stats()["active_jobs"] == 0, "the job never ended"

    asyncio.run(scenario())
    assert len(FakeEngine.calls) <= 3
