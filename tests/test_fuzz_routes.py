"""Any body to any HTTP route: never a 5xx, always the dialect's error shape (JSON or msgpack)."""
import json

import ormsgpack
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

pytestmark = pytest.mark.django_db

ROUTES = [("post", p) for p in (
    "/speak", "/v1/speak", "/multi_speak", "/clone_voice", "/add_speaker", "/delete_speaker", "/v1/audio/speech",
    "/v1/tts", "/v1/references/add", "/v1/references/update", "/v1/vqgan/encode", "/v1/vqgan/decode",
    "/generate_audio_enhanced_async", "/stop_generation", "/stop_async_task/x", "/inference_zero_shot",
    "/query_tts_model", "/api/tts/stream", "/api/tts/interrupt", "/v1/health")] + [
    ("delete", "/v1/references/delete"), ("get", "/v1/audio/voices"), ("get", "/get_task_status/x"),
    ("get", "/download_result/x"), ("get", "/audio_roles"), ("get", "/v1/models")]

scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False)
           | st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["text", "name", "input", "voice", "format", "reference_id", "references", "session_id",
                     "stream", "speed", "audio", "id", "tokens", "audios", "step_id", "tts_text", "x"]),
    inner, max_size=5), max_leaves=12)


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


bodies = st.one_of(
    values.map(lambda v: ("application/json", json.dumps(v).encode())),
    values.map(lambda v: ("application/msgpack", ormsgpack.packb(v))),
    st.binary(max_size=200).map(lambda b: ("application/json", b)),
    st.binary(max_size=200).map(lambda b: ("application/msgpack", b)),
    st.binary(max_size=200).map(lambda b: ("multipart/form-data; boundary=xyz", b)),
    st.sampled_from([100, 5000, 100_000]).map(lambda d: ("application/json", deep(d))),
    st.sampled_from([b"[]", b"null", b'"text"', b"42", b"{"]).map(lambda b: ("application/json", b)),
)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES), body=bodies)
def test_no_body_makes_any_route_answer_5xx(client, fake_voices, route, body):
    method, path = route
    content_type, data = body
    if method == "get":  # a query string instead of a body
        response = client.get(path, {"text": data.decode("utf-8", "replace")[:200], "format": content_type[:20]})
    else:
        response = getattr(client, method)(path, data=data, content_type=content_type)
    if response.streaming:
        b"".join(response.streaming_content)
        return
    assert response.status_code < 500 or (path.startswith("/v1/vqgan") and response.status_code == 501), \
        (path, content_type, data[:80], response.status_code, response.content[:200])
    if response.status_code >= 400:
        assert response["Content-Type"].startswith(("application/json", "application/msgpack")), \
            (path, response["Content-Type"], response.content[:200])
