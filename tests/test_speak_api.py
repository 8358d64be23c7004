import pytest

from synthesis.audio.encoders import FORMATS
from tests.audio import body_of, chunks_of, decode, duration

pytestmark = pytest.mark.django_db
WORDS = "one two three four five six seven eight nine ten"


def speak(client, path="/speak", **body):
    payload = {"name": "fake_a", "text": WORDS, **body}
    return client.post(path, payload, content_type="application/json")


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_speaks_in_every_format(client, fake_voices, fmt):
    response = speak(client, response_format=fmt)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("audio/")
    data = body_of(response)
    samples, rate = decode(data, fmt, 16000)
    expected_rate = {"opus": 48000, "mp3": 16000}.get(fmt, 16000)
    assert rate == expected_rate
    # ten words at 0.12 s each plus a pause
    assert len(samples) / rate == pytest.approx(1.2 + 0.18, abs=0.15)


@pytest.mark.parametrize("fmt", ["wav", "mp3", "pcm"])
def test_it_streams(client, fake_voices, fmt):
    text = "This is the first sentence. " * 4
    response = speak(client, text=text, stream=True, response_format=fmt, window_size=6)
    assert response.status_code == 200 and response.streaming
    chunks = chunks_of(response)
    assert len(chunks) > 1
    assert duration(b"".join(chunks), fmt, 16000) > 2.0


def test_the_v1_twin_speaks_too(client, fake_voices):
    assert speak(client, "/v1/speak", response_format="wav").status_code == 200


def test_speed_changes_the_duration(client, fake_voices):
    normal = duration(body_of(speak(client, response_format="wav")), "wav")
    fast = duration(body_of(speak(client, response_format="wav", speed="very_high")), "wav")
    slow = duration(body_of(speak(client, response_format="wav", speed="very_low")), "wav")
    assert slow > normal * 1.2 > fast * 1.2


def test_pitch_keeps_the_duration(client, fake_voices):
    normal = duration(body_of(speak(client, response_format="wav")), "wav")
    high = duration(body_of(speak(client, response_format="wav", pitch="very_high")), "wav")
    assert high == pytest.approx(normal, rel=0.05)


def test_sampling_fields_are_accepted_by_engines_that_ignore_them(client, fake_voices):
    response = speak(client, temperature=0.9, top_k=50, top_p=0.95, repetition_penalty=1.0, max_tokens=4096,
                     length_threshold=50, window_size=50, response_format="wav")
    assert response.status_code == 200


def test_an_unknown_voice_is_404(client, fake_voices):
    response = speak(client, name="nobody")
    assert response.status_code == 404
    assert "nobody" in response.json()["detail"]


def test_empty_text_is_refused_naming_the_field(client, fake_voices):
    response = speak(client, text="")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "text"]


def test_over_long_text_is_refused_naming_the_field(client, fake_voices, settings):
    settings.TTS_MAX_TEXT_LENGTH = 20
    response = speak(client, text="x" * 21)
    assert response.status_code == 400
    assert "text" in response.json()["detail"]


def test_a_bad_enum_names_the_field_and_the_allowed_values(client, fake_voices):
    response = speak(client, pitch="shrill")
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "pitch"]
    assert "very_low, low, moderate, high, very_high" in error["msg"]


def test_a_bad_format_names_the_allowed_values(client, fake_voices):
    response = speak(client, response_format="ogg_vorbis")
    assert response.status_code == 422
    assert "mp3" in response.json()["detail"][0]["msg"]


def test_malformed_json_is_400(client, fake_voices):
    response = client.post("/speak", "{bad", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_multi_speak_switches_voices(client, fake_voices):
    response = client.post("/multi_speak", {"text": "<role:fake_a> hello there <role:fake_b> general kenobi",
                                            "response_format": "wav"}, content_type="application/json")
    assert response.status_code == 200
    samples, rate = decode(body_of(response), "wav")
    assert len(samples) / rate == pytest.approx(4 * 0.12 + 2 * 0.18, abs=0.1)


def test_multi_speak_with_an_unknown_role_is_404(client, fake_voices):
    response = client.post("/multi_speak", {"text": "<role:ghost> boo"}, content_type="application/json")
    assert response.status_code == 404


def test_multi_speak_without_tags_is_400(client, fake_voices):
    response = client.post("/multi_speak", {"text": "no tags here"}, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("body, rate", [({"stream": True, "response_format": "wav"}, 8000),
                                        ({"response_format": "pcm"}, 8000),
                                        ({"response_format": "wav"}, 16000),  # a whole file: the engine's own
                                        ({"response_format": "pcm", "sample_rate": 22050}, 22050)])
def test_raw_and_streamed_audio_leave_at_the_dialects_rate_unless_asked(client, fake_voices, settings, body, rate):
    settings.TTS_FLASHTTS_SAMPLE_RATE = 8000
    response = speak(client, text="one two three", **body)
    assert response.status_code == 200 and int(response["X-Sample-Rate"]) == rate
    fmt = body["response_format"]
    samples, decoded_rate = decode(body_of(response), fmt, rate)
    assert decoded_rate == rate and len(samples) / rate == pytest.approx(3 * 0.12 + 0.18, abs=0.1)


def test_the_flash_rate_is_a_setting(client, fake_voices, settings):
    settings.TTS_FLASHTTS_SAMPLE_RATE = 8000
    response = speak(client, text="one two three", response_format="pcm")
    assert response["X-Sample-Rate"] == "8000"
    assert len(body_of(response)) / 2 / 8000 == pytest.approx(3 * 0.12 + 0.18, abs=0.1)


@pytest.mark.parametrize("text", ["   ", "\u200b\u200c\u200d\ufeff", "...!?", "\u202e\u0301"],
                         ids=["spaces", "zero-width", "punctuation", "bidi and combining marks"])
def test_text_with_nothing_to_speak_is_refused_like_empty_text(client, fake_voices, text):
    """Each dialect answers it as it answers an empty field (it was 200 and 0.18 s of silence, or
    a 400 in another shape than the empty text's 422)."""
    response = speak(client, text=text)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "text"]
    openai = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "fake_a", "input": text},
                         content_type="application/json")
    assert openai.status_code == 400 and openai.json()["error"]["param"] == "input"


def test_deleting_a_speaker_without_a_name_is_refused_like_adding_one(client, fake_voices):
    response = client.post("/delete_speaker", {}, content_type="application/json")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "name"]
