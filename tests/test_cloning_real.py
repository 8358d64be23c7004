"""Cloning with the real Kokoro engine from a reference that matches one voicepack exactly."""
import base64
import io

import numpy as np
import pytest
import soundfile as sf

from tests.audio import body_of, decode
from voices.models import Voice

pytestmark = [pytest.mark.django_db, pytest.mark.real_engine]


@pytest.fixture
def kumo_reference(real_voices, settings):
    """A recording of jm_kumo itself: the match has one winner, the other weight is zero."""
    from synthesis import services

    settings.TTS_CLONE_ENGINE = "kokoro"
    kokoro = services.load_engine("kokoro")
    audio = kokoro.synthesize("今日はいい天気ですね。散歩に行きましょう。また明日会いましょう。", "jm_kumo", language="ja")
    buf = io.BytesIO()
    sf.write(buf, audio, kokoro.sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_clone_base_speaks_the_winning_voice_not_a_blend_with_a_zero_weight(kumo_reference):
    from synthesis import services
    from synthesis.speaker.latent import SpeakerLatent

    kokoro = services.load_engine("kokoro")
    latent = SpeakerLatent.from_bytes(kokoro.prepare_reference(*sf.read(io.BytesIO(kumo_reference), dtype="float32")))
    spec, _ = kokoro.clone_base(latent, language="ja")
    assert kokoro.is_voice(spec)
    assert "(0.000)" not in spec


def test_every_cloning_path_speaks_from_a_reference_one_voice_wins(client, kumo_reference):
    b64 = base64.b64encode(kumo_reference).decode()
    cloned = client.post("/clone_voice", {"text": "こんにちは、元気ですか。", "reference_audio": b64,
                                          "response_format": "wav"})
    assert cloned.status_code == 200, cloned.content[:300]
    streamed = client.post("/clone_voice", {"text": "こんにちは。", "reference_audio": b64, "stream": "true",
                                            "response_format": "wav"})
    assert streamed.status_code == 200 and len(decode(body_of(streamed), "wav")[0]) > 0
    openai = client.post("/v1/audio/speech", {"model": "tts-1", "voice": b64, "input": "Hello there.",
                                              "response_format": "wav"}, content_type="application/json")
    assert openai.status_code == 200 and len(decode(body_of(openai), "wav")[0]) > 0
    added = client.post("/add_speaker", {"name": "kumo_copy", "audio": b64})
    assert added.status_code == 200
    spoken = client.post("/speak", {"name": "kumo_copy", "text": "また明日。", "response_format": "wav"},
                         content_type="application/json")
    samples, rate = decode(body_of(spoken), "wav")
    assert spoken.status_code == 200 and np.abs(samples).max() > 0.01
    assert Voice.objects.get(name="kumo_copy").sample_audio
