"""Per-key requests per minute and characters per day: 429 with Retry-After in the dialect's shape,
counted in Redis when REDIS_URL is set (so every process shares one count)."""
import shutil

import pytest

from synthesis import keys, quotas
from synthesis.api.middleware import limiter
from synthesis.errors import QuotaExceeded
from tests.factories import bearer, make_key
from ttsproject.processes import RedisServer

pytestmark = pytest.mark.django_db


def speak(client, key, text="hello there", path="/speak"):
    return client.post(path, {"name": "fake_a", "text": text, "response_format": "wav"},
                       content_type="application/json", **bearer(key))


def test_requests_over_the_minute_are_429_with_retry_after(client, fake_voices):
    key = make_key(requests_per_minute=2)
    assert [client.get("/audio_roles", **bearer(key)).status_code for _ in range(2)] == [200, 200]
    refused = client.get("/v1/models", **bearer(key))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert client.get("/audio_roles", **bearer(make_key())).status_code == 200  # another key has its own


def test_characters_over_the_day_are_refused_without_using_what_is_left(client, fake_voices):
    key = make_key(characters_per_day=20)
    assert speak(client, key, "x" * 15).status_code == 200
    refused = speak(client, key, "y" * 10)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "5 of its 20 characters" in refused.json()["detail"]
    assert speak(client, key, "z" * 5).status_code == 200  # the refused ten were not counted


def test_async_tasks_are_charged_when_created(client, fake_voices):
    key = make_key(characters_per_day=10)
    body = {"step_id": "t1", "text": "x" * 8, "format": "wav", "reference_id": "fake_a"}
    assert client.post("/generate_audio_enhanced_async", body, content_type="application/json",
                       **bearer(key)).status_code == 200
    refused = client.post("/generate_audio_enhanced_async", {**body, "step_id": "t2"},
                          content_type="application/json", **bearer(key))
    assert refused.status_code == 429 and "Retry-After" in refused


def test_keys_without_quotas_and_the_server_key_are_unlimited(client, fake_voices, settings):
    settings.TTS_API_KEY = "s3cret"
    key = make_key()
    for _ in range(5):
        assert speak(client, key, "x" * 500).status_code == 200
        assert speak(client, "s3cret", "x" * 500).status_code == 200


def test_the_per_ip_limit_stays_for_callers_without_a_key(client, fake_voices, settings):
    limiter.reset()
    settings.TTS_RATE_LIMIT = "1/minute"
    assert client.get("/audio_roles").status_code == 200
    assert client.get("/audio_roles").status_code == 429
    key = make_key()
    for _ in range(3):  # a key's own quota applies to it, not the IP's
        assert client.get("/audio_roles", **bearer(key)).status_code == 200
    limiter.reset()


@pytest.fixture
def redis_url(tmp_path, settings):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path).start()
    settings.REDIS_URL = server.url
    yield server.url
    server.stop()


def test_with_redis_the_counts_live_in_redis(redis_url, settings):
    import redis

    key = make_key(requests_per_minute=2, characters_per_day=10)
    principal = keys.principal_of(key)
    quotas.admit_request(principal)
    quotas.charge_characters(principal, 6)
    assert redis.Redis.from_url(redis_url).keys("tts-quota*")  # shared by every process on this Redis
    quotas.reset()  # as a second process would start: nothing counted in memory
    quotas.admit_request(principal)
    with pytest.raises(QuotaExceeded) as over:
        quotas.admit_request(principal)
    assert 1 <= over.value.retry_after <= 60
    with pytest.raises(QuotaExceeded, match="4 of its 10"):
        quotas.charge_characters(principal, 5)
