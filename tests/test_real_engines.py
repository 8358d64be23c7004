"""The real weights, through the whole pipeline: English on both engines, Mandarin and mixed on kokoro."""
import base64

import numpy as np
import pytest

from tests.audio import body_of, decode

pytestmark = [pytest.mark.django_db, pytest.mark.real_engine]

ENGLISH = "The quick brown fox jumps over the lazy dog while the sun sets slowly behind the hills."
MANDARIN = "今天天气很好，我们一起去公园散步吧。"
MIXED = "我们今天学习 machine learning 和 deep learning。"


def speak(client, name, text, fmt="wav"):
    response = client.post("/speak", {"name": name, "text": text, "response_format": fmt},
                           content_type="application/json")
    assert response.status_code == 200, response.content[:200]
    return decode(body_of(response), fmt)


def speech_seconds(samples, rate):
    frame = rate // 50
    n = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1))
    return float(np.sum(rms > 0.01)) / 50


def test_piper_speaks_english(client, real_voices):
    samples, rate = speak(client, "joe", ENGLISH)
    assert rate == 22050
    words = len(ENGLISH.split())
    assert words / 5.0 < len(samples) / rate < words / 1.5
    assert speech_seconds(samples, rate) > words / 6.0
    assert np.max(np.abs(samples)) <= 1.0


def test_kokoro_speaks_english(client, real_voices):
    samples, rate = speak(client, "jf_alpha", ENGLISH)
    assert rate == 24000
    words = len(ENGLISH.split())
    assert words / 5.0 < len(samples) / rate < words / 1.5


def test_kokoro_speaks_mandarin(client, real_voices):
    samples, rate = speak(client, "jm_kumo", MANDARIN, fmt="flac")
    assert rate == 24000
    chars = sum(1 for c in MANDARIN if "\u4e00" <= c <= "\u9fff")
    assert chars / 8.0 < len(samples) / rate < chars / 2.0
    assert speech_seconds(samples, rate) > chars / 8.0


def test_kokoro_speaks_both_languages_of_mixed_text(client, real_voices):
    mixed, rate = speak(client, "jf_alpha", MIXED)
    han_only, _ = speak(client, "jf_alpha", "我们今天学习和。")
    # the English words are spoken, not dropped: the mixed reading is clearly longer
    assert len(mixed) / rate > len(han_only) / rate + 0.8


def test_kokoro_phonemizes_each_script_with_its_own_g2p():
    from synthesis import services

    phonemes = services.load_engine("kokoro").phonemize(MIXED)
    assert "↓" in phonemes or "↘" in phonemes  # Mandarin tones from misaki
    assert "ˈ" in phonemes  # English stress from espeak-ng


def test_real_engine_speed_changes_the_audio(client, real_voices):
    def length(**extra):
        response = client.post("/speak", {"name": "joe", "text": ENGLISH, "response_format": "wav", **extra},
                               content_type="application/json")
        return len(decode(body_of(response), "wav")[0])

    assert length(speed="very_high") < length() * 0.9 < length(speed="very_low") * 0.9 * 0.9


def test_the_same_seed_gives_identical_audio_on_both_engines(client, real_voices):
    import ormsgpack

    for voice in ("joe", "jf_alpha"):
        body = ormsgpack.packb({"text": "Seeds make this repeatable.", "format": "wav", "reference_id": voice,
                                "seed": 42})
        first = body_of(client.post("/v1/tts", body, content_type="application/msgpack"))
        second = body_of(client.post("/v1/tts", body, content_type="application/msgpack"))
        assert first == second and len(first) > 10000


def test_kokoro_speaks_a_blend_written_inline_and_saved(client, real_voices):
    samples, rate = speak(client, "jf_alpha(2)+jm_kumo(1)", "A blended voice speaks.")
    assert rate == 24000 and len(samples) / rate > 0.8
    saved = client.post("/add_speaker", {"name": "my_blend", "blend": "jf_alpha(2)+jm_kumo(1)"})
    assert saved.json() == {"success": True, "role": "my_blend"}
    assert "my_blend" in client.get("/audio_roles").json()["roles"]
    assert "my_blend" in [v["id"] for v in client.get("/v1/audio/voices").json()["data"]]
    assert speak(client, "my_blend", "Saved blend.")[1] == 24000


def test_a_blend_of_unknown_voicepacks_is_refused(client, real_voices):
    response = client.post("/speak", {"name": "jf_alpha(1)+nobody(1)", "text": "x"},
                           content_type="application/json")
    assert response.status_code == 404
    assert client.post("/add_speaker", {"name": "bad", "blend": "nobody(1)+x(2)"}).status_code == 400


@pytest.mark.parametrize("spec", ["jf_alpha(" + "9" * 400 + ")+jm_kumo(1)", "jf_alpha(0)+jm_kumo(1)",
                                  "+".join(["jf_alpha(1)"] * 9)])
def test_an_absurd_blend_is_not_a_voice(client, real_voices, spec):
    response = client.post("/speak", {"name": spec, "text": "Absurd weights."}, content_type="application/json")
    assert response.status_code == 404
    assert client.post("/add_speaker", {"name": "absurd", "blend": spec}).status_code == 400


def test_kokoro_clones_toward_the_reference_speaker(client, real_voices, settings):
    from synthesis import services
    from synthesis.speaker import encoder

    settings.TTS_CLONE_ENGINE = "kokoro"
    piper = services.load_engine("piper")
    reference = piper.synthesize("Good morning everyone, and welcome to the weekly meeting about our plans.", "joe")
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, reference, 22050, format="WAV")
    text = "The weather will be sunny tomorrow, with a light breeze in the afternoon."
    response = client.post("/clone_voice", {"text": text, "response_format": "wav",
                                            "reference_audio": base64.b64encode(buf.getvalue()).decode()})
    cloned, rate = decode(body_of(response), "wav")
    plain, _ = speak(client, "jf_alpha", text)
    enc = encoder.get_encoder(services.load_engine("kokoro").speaker_cache())
    target = enc.embed(reference, 22050)
    assert rate == 24000 and 2.0 < len(cloned) / rate < 8.0
    assert encoder.cosine(target, enc.embed(cloned, rate)) > encoder.cosine(target, enc.embed(plain, rate))
