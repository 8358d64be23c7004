import pytest

from synthesis.api.middleware import limiter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_limiter():
    limiter.reset()
    yield
    limiter.reset()


def test_it_is_off_by_default(client, fake_voices):
    assert all(client.get("/audio_roles").status_code == 200 for _ in range(20))


def test_over_the_limit_is_429_with_retry_after(client, fake_voices, settings):
    settings.TTS_RATE_LIMIT = "2/minute"
    assert [client.get("/audio_roles").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/audio_roles")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Rate limit" in refused.json()["detail"]


def test_probes_are_never_limited(client, settings):
    settings.TTS_RATE_LIMIT = "1/minute"
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))


def test_clients_with_the_key_pass_when_the_scope_is_unauthenticated(client, fake_voices, settings):
    settings.TTS_RATE_LIMIT = "1/minute"
    settings.TTS_API_KEY = "k"
    for _ in range(3):
        assert client.get("/audio_roles", HTTP_AUTHORIZATION="Bearer k").status_code == 200


def test_the_lighttts_shape_is_used_on_its_paths(client, settings):
    settings.TTS_RATE_LIMIT = "1/minute"
    client.get("/query_tts_model")
    body = client.get("/query_tts_model").json()
    assert body["error_code"] == "RATE_LIMITED"


def test_a_bad_rate_setting_names_the_variable():
    from django.core.exceptions import ImproperlyConfigured

    from synthesis.api.middleware import parse_rate

    with pytest.raises(ImproperlyConfigured, match="TTS_RATE_LIMIT"):
        parse_rate("ten per minute")
