import pytest

pytestmark = pytest.mark.django_db

PROTECTED = [
    ("post", "/speak"), ("post", "/v1/speak"), ("post", "/multi_speak"), ("post", "/add_speaker"),
    ("post", "/delete_speaker"), ("get", "/audio_roles"), ("get", "/v1/audio_roles"),
    ("post", "/v1/audio/speech"), ("get", "/v1/models"), ("get", "/v1/audio/voices"),
    ("post", "/v1/tts"), ("post", "/v1/references/add"), ("get", "/v1/references/list"),
    ("delete", "/v1/references/delete"), ("post", "/v1/references/update"), ("post", "/v1/vqgan/encode"),
    ("post", "/v1/vqgan/decode"), ("post", "/generate_audio_enhanced_async"), ("get", "/get_task_status/x"),
    ("get", "/download_result/x"), ("post", "/stop_generation"), ("post", "/stop_async_task/x"),
    ("post", "/inference_zero_shot"), ("get", "/query_tts_model"), ("post", "/api/tts/stream"),
    ("post", "/api/tts/interrupt"), ("get", "/metrics"),
]


@pytest.fixture
def keyed(settings):
    settings.TTS_API_KEY = "s3cret"


@pytest.mark.parametrize("method, path", PROTECTED)
def test_every_endpoint_needs_the_key_when_one_is_set(client, fake_voices, keyed, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 401
    wrong = getattr(client, method)(path, HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401


def test_the_right_key_is_let_through(client, fake_voices, keyed):
    response = client.post("/speak", {"name": "fake_a", "text": "hi", "response_format": "wav"},
                           content_type="application/json", HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200


def test_openai_paths_get_openai_shaped_401(client, keyed):
    body = client.get("/v1/models").json()
    assert body["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize("path", ["/healthz", "/health", "/liveness", "/readiness", "/v1/health", "/api/healthz"])
def test_health_probes_need_no_key(client, keyed, path):
    assert client.get(path).status_code == 200


def test_without_a_key_everything_is_open(client, fake_voices):
    assert client.get("/audio_roles").status_code == 200
