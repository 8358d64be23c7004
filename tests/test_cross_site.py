"""Browsers: no CSRF cookie on API paths, no cross-site writes without a key, CORS only for listed origins."""
import pytest

pytestmark = pytest.mark.django_db


def speak(client, **headers):
    return client.post("/speak", {"name": "fake_a", "text": "one two", "response_format": "wav"},
                       content_type="application/json", **headers)


def test_a_page_of_another_site_cannot_delete_a_voice_on_a_server_without_a_key(client, fake_voices):
    response = client.post("/delete_speaker", {"name": "fake_a"}, HTTP_ORIGIN="http://evil.example")
    assert response.status_code == 403 and "Cross-site request" in response.json()["detail"]
    referer = client.post("/delete_speaker", {"name": "fake_a"}, HTTP_REFERER="http://evil.example/page")
    assert referer.status_code == 403
    assert "fake_a" in client.get("/audio_roles").json()["roles"]


def test_the_servers_own_page_and_non_browser_clients_are_let_through(client, fake_voices):
    assert speak(client, HTTP_ORIGIN="http://testserver").status_code == 200
    assert speak(client).status_code == 200  # curl, SDKs: no Origin


def test_with_a_key_the_key_decides_not_the_origin(client, fake_voices, settings):
    settings.TTS_API_KEY = "k"
    assert speak(client, HTTP_ORIGIN="http://app.example", HTTP_AUTHORIZATION="Bearer k").status_code == 200


def test_listed_origins_get_cors_headers_and_preflight_answers(client, fake_voices, settings):
    settings.TTS_CORS_ALLOWED_ORIGINS = ["https://app.example"]
    preflight = client.options("/v1/tts", HTTP_ORIGIN="https://app.example",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    response = speak(client, HTTP_ORIGIN="https://app.example")
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Sample-Rate" in response["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/admin/login/", HTTP_ORIGIN="https://app.example")


def test_every_response_carries_a_request_id_the_clients_own_if_sane(client, fake_voices):
    assert client.get("/audio_roles", HTTP_X_REQUEST_ID="abc-123")["X-Request-Id"] == "abc-123"
    assert len(client.get("/audio_roles", HTTP_X_REQUEST_ID="bad id\n")["X-Request-Id"]) == 32
