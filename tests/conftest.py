import pytest

from synthesis import keys, quotas, services, usage
from synthesis.engines import registry
from tests.fakes import FakeEngine

registry.register("fake", "tests.fakes.FakeEngine")
registry.register("fake_en", "tests.fakes.EnglishOnlyEngine")


@pytest.fixture(autouse=True)
def tts_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.TTS_ENGINES = ["fake", "piper", "kokoro"]
    settings.TTS_DEFAULT_VOICE = "fake_a"
    settings.TTS_CLONE_ENGINE = "fake"
    settings.TTS_API_KEY = ""
    settings.TTS_URL_ALLOWLIST = []
    settings.TTS_AUDIO_CACHE_BYTES = 0  # on in tests/test_audio_cache.py and in live servers
    settings.TTS_USAGE_FLUSH_SECONDS = 0  # usage is flushed by the tests that read it
    keys.forget_cached()
    quotas.reset()
    usage.buffer.clear()
    services.set_dispatcher(None)
    FakeEngine.gate = None
    FakeEngine.gate_only = None
    FakeEngine.fail_on = None
    FakeEngine.calls = []
    FakeEngine.spoken = []
    FakeEngine.prepared = 0
    services.latent_cache.clear()
    services.reference_cache.clear()
    yield settings
    usage.buffer.clear()  # nothing of a test's keys is written after its database is gone
    if FakeEngine.gate is not None:
        FakeEngine.gate.set()
    services.set_dispatcher(None)


@pytest.fixture
def fake_voices(db):
    """Catalog voices of the fake engine."""
    from voices.services import sync_builtin_voices

    sync_builtin_voices({"fake": services.load_engine("fake")})
    FakeEngine.calls = []


# Catalog voices as the Kokoro voicepacks register them, spoken by the fake engine.
LANGUAGE_VOICES = [("af_heart", "en-us", "female"), ("af_alloy", "en-us", "female"), ("am_michael", "en-us", "male"),
                   ("am_onyx", "en-us", "male"), ("bm_fable", "en-gb", "male"), ("zf_xiaobei", "zh", "female"),
                   ("zf_xiaoni", "zh", "female"), ("zm_yunxi", "zh", "male"), ("jf_alpha", "ja", "female"),
                   ("jm_kumo", "ja", "male"), ("ef_dora", "es", "female"), ("ff_siwis", "fr", "female")]


@pytest.fixture
def language_voices(db, settings):
    """Voices of several languages and genders (the fake engine speaks them all), and one English-only voice."""
    from voices.models import Voice

    settings.TTS_ENGINES = [*settings.TTS_ENGINES, "fake_en"]
    for name, language, gender in LANGUAGE_VOICES:
        Voice.objects.create(name=name, engine="fake", engine_voice=name, language=language, gender=gender,
                             is_builtin=True)
    Voice.objects.create(name="joe_fake", engine="fake_en", engine_voice="joe_fake", language="en-us",
                         gender="male", is_builtin=True)
    FakeEngine.spoken = []


@pytest.fixture
def real_voices(db):
    """Catalog voices of the real engines (loads their weights once per test session)."""
    from voices.services import sync_builtin_voices

    sync_builtin_voices({"piper": services.load_engine("piper"), "kokoro": services.load_engine("kokoro")})


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """Tiny random Orpheus + SNAC checkpoints in the layouts --model_path / --snac_path read."""
    from tests import llm_checkpoints as tiny

    root = tmp_path_factory.mktemp("llm")
    return {"model_path": tiny.make_orpheus(root / "orpheus"), "snac_path": tiny.make_snac(root / "snac")}


@pytest.fixture(scope="session")
def spark_release(tmp_path_factory):
    """A tiny random Spark-TTS release (config.yaml, BiCodec/, LLM/, wav2vec2-large-xlsr-53/)."""
    from tests import llm_checkpoints as tiny

    return tiny.make_spark(tmp_path_factory.mktemp("spark") / "Spark-TTS-0.5B")


@pytest.fixture
def admin_client(client, db):
    """The test client logged in as a superuser (a curator)."""
    from django.contrib.auth.models import User

    User.objects.create_superuser("curator", "c@example.com", "pw")
    client.login(username="curator", password="pw")
    return client
