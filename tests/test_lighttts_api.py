import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.audio import body_of, chunks_of, tone_wav

pytestmark = pytest.mark.django_db


def zero_shot(client, **fields):
    data = {"tts_text": "one two three four", "prompt_text": "a friendly voice",
            "prompt_wav": SimpleUploadedFile("reference.wav", tone_wav(), content_type="audio/wav"), **fields}
    return client.post("/inference_zero_shot", data)


def test_it_returns_16_khz_pcm_with_the_rate_in_a_header(client, fake_voices):
    response = zero_shot(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Sample-Rate"] == "16000"
    samples = np.frombuffer(body_of(response), dtype="<i2")
    assert len(samples) / 16000 == pytest.approx(4 * 0.12 + 0.18, abs=0.1)


def test_it_streams_in_chunks(client, fake_voices):
    response = zero_shot(client, tts_text="First one. Second one here. Third one too. " * 3, stream="true")
    assert response.streaming and len(chunks_of(response)) > 1


def test_the_sample_rate_is_configurable(client, fake_voices, settings):
    settings.TTS_LIGHTTTS_SAMPLE_RATE = 24000
    response = zero_shot(client)
    assert response["X-Sample-Rate"] == "24000"
    assert len(body_of(response)) / 2 / 24000 == pytest.approx(0.66, abs=0.1)


def test_speed_changes_the_length(client, fake_voices):
    normal = len(body_of(zero_shot(client)))
    fast = len(body_of(zero_shot(client, speed="2.0")))
    assert fast < normal * 0.7


def test_speed_out_of_range_is_400_in_the_dialects_shape(client, fake_voices):
    response = zero_shot(client, speed="3")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "detail", "error_code"} and "speed" in body["detail"]


def test_text_over_the_limit_is_422_with_the_specs_body(client, fake_voices, settings):
    settings.TTS_MAX_TEXT_LENGTH = 10
    response = zero_shot(client, tts_text="x" * 11)
    assert response.status_code == 422
    assert response.json() == {"message": "Text too long", "detail": "tts_text is 11 characters; the limit is 10",
                               "error_code": "TEXT_TOO_LONG"}


def test_a_missing_prompt_wav_is_400(client, fake_voices):
    response = client.post("/inference_zero_shot", {"tts_text": "hi", "prompt_text": "p"})
    assert response.status_code == 400 and "prompt_wav" in response.json()["detail"]


def test_an_oversized_prompt_is_413(client, fake_voices, settings):
    settings.TTS_MAX_UPLOAD_BYTES = 2048
    response = zero_shot(client)
    assert response.status_code == 413
    assert response.json()["error_code"] == "FILE_TOO_LARGE"


def test_undecodable_prompt_audio_is_400(client, fake_voices):
    response = zero_shot(client, prompt_wav=SimpleUploadedFile("r.wav", b"nope" * 100))
    assert response.status_code == 400


def test_an_unknown_model_is_404(client, fake_voices):
    response = zero_shot(client, tts_model_name="NoSuchModel")
    assert response.status_code == 404 and response.json()["error_code"] == "NOT_FOUND"
    assert "CosyVoice2" in response.json()["detail"]


@pytest.mark.parametrize("model", ["CosyVoice2", "CosyVoice3"])
def test_upstream_model_names_are_aliases_of_the_clone_engine(client, fake_voices, model):
    assert zero_shot(client, tts_model_name=model).status_code == 200


def test_model_aliases_are_configurable(client, fake_voices, settings):
    settings.TTS_LIGHTTTS_MODELS = {"MyModel": "fake"}
    assert zero_shot(client, tts_model_name="MyModel").status_code == 200
    assert zero_shot(client, tts_model_name="CosyVoice2").status_code == 404


def test_a_named_model_is_used(client, fake_voices):
    assert zero_shot(client, tts_model_name="fake").status_code == 200


def test_query_tts_model_lists_loaded_engines(client):
    for method in (client.get, client.post):
        assert method("/query_tts_model").json() == {"tts_models": ["CosyVoice2", "CosyVoice3", "fake", "piper",
                                                                    "kokoro"]}


def test_readiness_is_503_until_an_engine_is_loaded(client):
    from synthesis.engines import registry

    saved = dict(registry._instances)
    registry._instances.clear()
    try:
        response = client.get("/readiness")
        assert response.status_code == 503 and response.json()["message"] == "Error"
    finally:
        registry._instances.update(saved)
