"""The output cache: identical requests answered from storage, anything that changes the audio
misses, the size stays bounded, identical requests at once synthesize once."""
import asyncio
import threading
from pathlib import Path

import pytest
from django.test import AsyncClient

from synthesis import audio_cache
from synthesis.engines.base import CAP_SAMPLING, CAP_SEEDED, SamplingParams
from synthesis.models import CachedAudio
from synthesis.types import SynthesisRequest, Turn, VoiceRef
from tests.audio import decode
from tests.fakes import FakeEngine

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = "The cache answers this sentence. Then this one too."


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.TTS_AUDIO_CACHE_BYTES = 64 * 1024 * 1024


async def post(client, path="/speak", headers=None, **body):
    """(response, its whole body) of one request."""
    payload = {"name": "fake_a", "text": TEXT, "response_format": "wav", **body}
    response = await client.post(path, payload, content_type="application/json", headers=headers or {})
    if response.streaming:
        return response, b"".join([part async for part in response.streaming_content])
    return response, response.content


def run(*requests):
    """Each (path, body) in turn on one event loop (the server's), with their answers."""
    async def scenario():
        client = AsyncClient()
        return [await post(client, path, **body) for path, body in requests]
    return asyncio.run(scenario())


@pytest.mark.parametrize("stream", [False, True])
def test_a_repeated_request_is_answered_from_the_cache(fake_voices, stream):
    (first, first_body), (second, second_body) = run(("/speak", {"stream": stream}), ("/speak", {"stream": stream}))
    assert first.status_code == second.status_code == 200
    assert first["X-Cache"] == "MISS" and second["X-Cache"] == "HIT"
    assert second_body == first_body and len(decode(second_body, "wav")[0]) > 0
    assert second["ETag"] == first["ETag"] and "max-age" in second["Cache-Control"]
    assert FakeEngine.calls.count("Then this one too.") == 1  # synthesized once
    entry = CachedAudio.objects.get()
    assert entry.hits == 1 and entry.size == len(first_body)


@pytest.mark.parametrize("change", [{"text": TEXT + " More."}, {"name": "fake_b"}, {"speed": "high"},
                                    {"pitch": "low"}, {"response_format": "mp3"}, {"sample_rate": 22050},
                                    {"stream": True}])
def test_any_change_that_changes_the_audio_misses(fake_voices, change):
    (first, _), (changed, body) = run(("/speak", {}), ("/speak", change))
    assert changed.status_code == 200, body
    assert changed["X-Cache"] == "MISS" and changed["ETag"] != first["ETag"]


def test_text_that_normalizes_the_same_shares_an_answer(fake_voices):
    (first, _), (second, _) = run(("/speak", {"text": "It costs $3."}), ("/speak", {"text": "It costs 3 dollars."}))
    assert second["X-Cache"] == "HIT" and second["ETag"] == first["ETag"]


def test_the_same_request_in_another_dialect_at_the_same_rate_and_format_is_a_hit(fake_voices):
    (first, _), (openai, body) = run(("/speak", {"stream": True, "response_format": "mp3"}),
                                     ("/v1/audio/speech", {"input": TEXT, "voice": "fake_a", "response_format": "mp3",
                                                           "sample_rate": 16000}))
    assert openai.status_code == 200, body
    assert openai["X-Cache"] == "HIT" and openai["ETag"] == first["ETag"]


def test_a_client_can_ask_for_fresh_audio(fake_voices):
    async def scenario():
        client = AsyncClient()
        await post(client)
        fresh, _ = await post(client, headers={"Cache-Control": "no-cache"})
        query, _ = await post(client, "/speak?cache=false")
        return fresh, query
    fresh, query = asyncio.run(scenario())
    assert fresh["Cache-Control"] == query["Cache-Control"] == "no-store" and "ETag" not in fresh
    assert FakeEngine.calls.count("Then this one too.") == 3


def test_a_failed_synthesis_is_not_kept(fake_voices):
    FakeEngine.fail_on = "Then this"
    (failed, _), = run(("/speak", {}))
    assert failed.status_code >= 500
    FakeEngine.fail_on = None
    (again, body), = run(("/speak", {}))
    assert again.status_code == 200 and again["X-Cache"] == "MISS" and len(body) > 44


def test_least_recently_used_answers_are_evicted_to_stay_within_the_bound(fake_voices, settings):
    texts = [f"Answer number {word} is kept for a while." for word in ("one", "two", "three")]
    answers = run(*[("/speak", {"text": t}) for t in texts[:2]])
    first, second = (response["ETag"].strip('"') for response, _ in answers)
    settings.TTS_AUDIO_CACHE_BYTES = int(CachedAudio.objects.get(key=first).size * 2.5)  # room for two
    (reused, _), = run(("/speak", {"text": texts[0]}))  # the first is now the most recently used
    assert reused["X-Cache"] == "HIT"
    (third, _), = run(("/speak", {"text": texts[2]}))  # pushes out the least recently used: the second
    assert {entry.key for entry in CachedAudio.objects.all()} == {first, third["ETag"].strip('"')}
    assert sum(entry.size for entry in CachedAudio.objects.all()) <= settings.TTS_AUDIO_CACHE_BYTES
    assert sorted(p.name for p in (Path(settings.MEDIA_ROOT) / "cache" / "audio").rglob("*.wav")) == \
        sorted(f"{key}.wav" for key in (first, third["ETag"].strip('"')))  # the evicted file went too
    assert [r["X-Cache"] for r, _ in run(("/speak", {"text": texts[1]}))] == ["MISS"]


def test_identical_requests_at_the_same_time_are_synthesized_once(fake_voices):
    FakeEngine.gate = threading.Event()  # the second segment waits until both requests are in

    async def scenario():
        client = AsyncClient()
        first = await client.post("/speak", {"name": "fake_a", "text": TEXT, "stream": True, "response_format": "mp3"},
                                  content_type="application/json")
        second = await client.post("/speak", {"name": "fake_a", "text": TEXT, "stream": True, "response_format": "mp3"},
                                   content_type="application/json")
        FakeEngine.gate.set()
        bodies = await asyncio.gather(*[_read(r) for r in (first, second)])
        return first, second, bodies

    first, second, (a, b) = asyncio.run(scenario())
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "SHARED")
    assert a == b and len(decode(a, "mp3")[0]) > 0
    assert FakeEngine.calls == ["The cache answers this sentence.", "Then this one too."]
    assert CachedAudio.objects.count() == 1


def test_the_synthesis_stops_when_every_reader_of_a_shared_answer_left(fake_voices):
    FakeEngine.gate = threading.Event()
    text = "First part here. " + "Another sentence follows in this long text. " * 12

    async def scenario():
        client = AsyncClient()
        responses = [await client.post("/speak", {"name": "fake_a", "text": text, "stream": True},
                                       content_type="application/json") for _ in range(2)]
        for response in responses:
            await anext(aiter(response.streaming_content))
            response.close()
        FakeEngine.gate.set()
        return responses

    responses = asyncio.run(scenario())
    assert [r["X-Cache"] for r in responses] == ["MISS", "SHARED"]
    assert len(FakeEngine.calls) <= 2  # the first segment, at most the one in flight
    assert CachedAudio.objects.count() == 0


async def _read(response):
    return b"".join([part async for part in response.streaming_content])


def test_unseeded_sampling_engines_are_never_cached(monkeypatch):
    class Sampler:
        capabilities = frozenset({CAP_SAMPLING, CAP_SEEDED})
        sample_rate = 24000

    monkeypatch.setattr(audio_cache, "engine_class", lambda name: Sampler)
    voice = VoiceRef("v", "sampler", "v")
    assert audio_cache.key_for(SynthesisRequest([Turn(voice, "Hello.")]), "wav", False) is None
    seeded = SynthesisRequest([Turn(voice, "Hello.")], sampling=SamplingParams(seed=3))
    assert audio_cache.key_for(seeded, "wav", False)
    Sampler.capabilities = frozenset({CAP_SAMPLING})  # a seed it cannot honour
    assert audio_cache.key_for(seeded, "wav", False) is None


def test_a_seed_matters_only_to_engines_it_changes(monkeypatch):
    class Seeded:  # e.g. Piper: a seed picks its noise-free rendering
        capabilities = frozenset({CAP_SEEDED})
        sample_rate = 22050

    monkeypatch.setattr(audio_cache, "engine_class", lambda name: Seeded)
    voice = VoiceRef("v", "seeded", "v")

    def key(seed, temperature):
        return audio_cache.key_for(SynthesisRequest([Turn(voice, "Hello.")],
                                                    sampling=SamplingParams(seed=seed, temperature=temperature)),
                                   "wav", False)
    assert key(None, 0.5) == key(None, 0.9) != key(7, 0.5)


def test_a_cloned_voice_with_a_new_latent_misses():
    def key(latent):
        return audio_cache.key_for(SynthesisRequest([Turn(VoiceRef("mine", "fake", "", "en", latent), "Hi.")]),
                                   "wav", False)
    assert key("AAAA") == key("AAAA") != key("AAAB")
