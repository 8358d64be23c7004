"""Every request is spoken by a voice that knows its language: defaults per language, OpenAI's and
Flash-TTS's preset names, and a clear refusal when a named voice cannot speak the text."""
import msgpack
import pytest

from tests.audio import body_of
from tests.fakes import FakeEngine

pytestmark = pytest.mark.django_db

CHINESE = "会议定在明天上午开始。"
ENGLISH = "The meeting starts tomorrow morning."
JAPANESE = "会議は明日の朝に始まります。"
SPANISH = "La reunión empieza mañana por la mañana."


def voices_spoken():
    return {voice for voice, _ in FakeEngine.spoken}


def speak(client, name, text, path="/speak"):
    response = client.post(path, {"name": name, "text": text, "response_format": "wav"},
                           content_type="application/json")
    body_of(response)
    return response


@pytest.mark.parametrize("text, voice", [(CHINESE, "zf_xiaobei"), (ENGLISH, "af_heart"), (JAPANESE, "jf_alpha"),
                                         (SPANISH, "ef_dora")])
def test_fish_without_a_reference_speaks_with_the_default_voice_of_the_texts_language(client, language_voices,
                                                                                       text, voice):
    response = client.post("/v1/tts", {"text": text, "format": "wav"}, content_type="application/json")
    assert response.status_code == 200
    body_of(response)
    assert voices_spoken() == {voice}


def test_the_default_voices_are_configurable_per_language(client, language_voices, settings):
    settings.TTS_DEFAULT_VOICES = {**settings.TTS_DEFAULT_VOICES, "zh": "zf_xiaoni"}
    response = client.post("/v1/tts", msgpack.packb({"text": CHINESE}), content_type="application/msgpack")
    assert response.status_code == 200
    body_of(response)
    assert voices_spoken() == {"zf_xiaoni"}


def test_an_unknown_openspeech_voice_type_gets_the_texts_language_default(client, language_voices):
    response = client.post("/api/tts/stream", {"text": CHINESE, "voice_type": "S_nLVvYpzH1"},
                           content_type="application/json")
    assert response.status_code == 200
    body_of(response)
    assert voices_spoken() == {"zf_xiaobei"}


@pytest.mark.parametrize("stock, text, voice", [
    ("alloy", ENGLISH, "af_alloy"), ("onyx", ENGLISH, "am_onyx"), ("fable", ENGLISH, "bm_fable"),
    ("shimmer", ENGLISH, "af_heart"), ("alloy", CHINESE, "zf_xiaobei"), ("onyx", CHINESE, "zm_yunxi"),
])
def test_openai_stock_voices_map_to_their_namesakes_or_the_languages_default(client, language_voices, stock, text,
                                                                             voice):
    response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": stock, "input": text,
                                                "response_format": "wav"}, content_type="application/json")
    assert response.status_code == 200
    body_of(response)
    assert voices_spoken() == {voice}


@pytest.mark.parametrize("preset, text, voice", [("male", CHINESE, "zm_yunxi"), ("female", CHINESE, "zf_xiaobei"),
                                                 ("male", ENGLISH, "am_michael"), ("female", JAPANESE, "jf_alpha")])
def test_flash_tts_presets_speak_with_a_voice_of_that_gender_in_the_texts_language(client, language_voices, preset,
                                                                                  text, voice):
    assert speak(client, preset, text).status_code == 200
    assert voices_spoken() == {voice}


def test_a_preset_with_no_voice_of_its_gender_in_the_language_falls_back_to_the_languages_default(
        client, language_voices):
    assert speak(client, "male", "Le rendez-vous commence demain matin à dix heures.").status_code == 200
    assert voices_spoken() == {"ff_siwis"}


def test_multi_speak_roles_female_and_male_follow_each_turns_language(client, language_voices):
    response = client.post("/multi_speak", {"text": "<role:female> 你好！<role:male> 我很好，谢谢！",
                                            "response_format": "wav"}, content_type="application/json")
    assert response.status_code == 200
    body_of(response)
    assert [voice for voice, _ in FakeEngine.spoken] == ["zf_xiaobei", "zm_yunxi"]


def test_each_segment_reaches_the_engine_with_its_language(client, language_voices):
    assert speak(client, "af_heart", "Good morning everyone. 大家早上好。").status_code == 200
    assert [language for _, language in FakeEngine.spoken] == ["en", "zh"]


def test_a_voice_asked_for_a_language_it_cannot_speak_is_refused_naming_who_can(client, language_voices):
    response = speak(client, "joe_fake", "测试文本")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "joe_fake" in detail and "Mandarin Chinese (zh)" in detail
    assert "zf_xiaobei" in detail and "zm_yunxi" in detail
    assert FakeEngine.spoken == []


def test_the_refusal_comes_in_the_openai_error_shape(client, language_voices):
    response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "joe_fake", "input": SPANISH},
                           content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "language_not_supported" and error["param"] == "voice"
    assert "Spanish (es)" in error["message"] and "ef_dora" in error["message"]


def test_an_async_task_a_voice_cannot_speak_is_refused_at_creation(client, language_voices):
    response = client.post("/generate_audio_enhanced_async", {"step_id": "zh-joe", "text": CHINESE,
                                                              "reference_id": "joe_fake"},
                           content_type="application/json")
    assert response.status_code == 400
    assert "cannot speak" in response.json()["detail"]
    assert client.get("/get_task_status/zh-joe").status_code == 404


def test_an_english_only_voice_still_speaks_english(client, language_voices):
    assert speak(client, "joe_fake", ENGLISH).status_code == 200
    assert voices_spoken() == {"joe_fake"}


def test_the_voices_listing_shows_language_and_gender(client, language_voices):
    voices = {v["id"]: v for v in client.get("/v1/audio/voices").json()["data"]}
    assert voices["zm_yunxi"]["language"] == "zh" and voices["zm_yunxi"]["gender"] == "male"
    assert voices["bm_fable"]["language"] == "en-gb"
