"""/clone_voice, OpenAI voice=<audio>, cloned catalog voices, blends, reference intake refusals."""
import base64
import http.server
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.audio import body_of, decode, tone_wav
from tests.fakes import FakeEngine, dominant_frequency
from voices.models import Voice

pytestmark = pytest.mark.django_db
REF_FREQ = 330.0


def ref_wav(**kw):
    return tone_wav(freq=REF_FREQ, **kw)


def spoken_frequency(response, fmt="wav"):
    samples, rate = decode(body_of(response), fmt, 16000)
    return dominant_frequency(samples[: rate], rate)


def clone(client, as_json=False, **fields):
    data = {"text": "one two three", "response_format": "wav", **fields}
    if as_json:
        return client.post("/clone_voice", data, content_type="application/json")
    return client.post("/clone_voice", data)


def test_clone_from_an_upload_speaks_with_the_references_voice(client, fake_voices):
    response = clone(client, reference_audio_file=SimpleUploadedFile("ref.wav", ref_wav()))
    assert response.status_code == 200
    assert spoken_frequency(response) == pytest.approx(REF_FREQ, abs=15)


@pytest.mark.parametrize("as_json", [False, True])
def test_clone_from_base64_in_a_form_or_json(client, fake_voices, as_json):
    response = clone(client, as_json, reference_audio=base64.b64encode(ref_wav()).decode(), reference_text="hi")
    assert response.status_code == 200
    assert spoken_frequency(response) == pytest.approx(REF_FREQ, abs=15)


def test_the_v1_twin_and_streaming(client, fake_voices):
    response = client.post("/v1/clone_voice", {"text": "one two. three four.", "stream": "true",
                                               "response_format": "mp3",
                                               "reference_audio": base64.b64encode(ref_wav()).decode()})
    assert response.streaming and len(decode(body_of(response), "mp3")[0]) > 0


def test_a_repeated_reference_is_analysed_once(client, fake_voices):
    b64 = base64.b64encode(ref_wav()).decode()
    for _ in range(3):
        assert clone(client, reference_audio=b64).status_code == 200
    assert FakeEngine.prepared == 1


@pytest.mark.parametrize("fields, status, message", [
    ({}, 400, "reference_audio"),
    ({"reference_audio": "!!!not-base64!!!"}, 400, "base64"),
    ({"reference_audio": base64.b64encode(b"RIFFnope" * 50).decode()}, 400, "not decodable"),
    ({"reference_audio": base64.b64encode(tone_wav(seconds=0.5)).decode()}, 400, "at least 1 s"),
    ({"reference_audio": base64.b64encode(tone_wav(amplitude=0.0)).decode()}, 400, "silent"),
    ({"reference_audio": "ftp://example.com/a.wav"}, 400, "only http and https"),
])
def test_bad_references_are_refused_with_a_clear_message(client, fake_voices, fields, status, message):
    response = clone(client, **fields)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_an_oversized_upload_is_413(client, fake_voices, settings):
    settings.TTS_MAX_UPLOAD_BYTES = 4096
    response = clone(client, reference_audio_file=SimpleUploadedFile("ref.wav", ref_wav()))
    assert response.status_code == 413


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:9/ref.wav", "loopback"),
    ("http://localhost:9/ref.wav", "loopback"),
    ("http://10.1.2.3/ref.wav", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[::1]:9/ref.wav", "loopback"),
    ("http://224.0.0.1/ref.wav", "multicast"),
])
def test_urls_to_internal_addresses_are_refused(client, fake_voices, url, reason):
    response = clone(client, reference_audio=url)
    assert response.status_code == 400
    assert reason in response.json()["detail"]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/trickle":  # one byte a second, for ever: each read is quick, the whole never ends
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not self.server.stopping.wait(0.5):
                try:
                    self.wfile.write(b"R")
                    self.wfile.flush()
                except OSError:
                    return
            return
        routes = {"/ref.wav": (200, {}, ref_wav()), "/big.wav": (200, {}, b"\0" * 300_000),
                  "/to-localhost": (302, {"Location": f"http://localhost:{self.server.server_port}/ref.wav"}, b""),
                  "/to-metadata": (302, {"Location": "http://169.254.169.254/latest"}, b""),
                  "/to-ref": (302, {"Location": "/ref.wav"}, b"")}
        status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def reference_server(settings):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.stopping = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.TTS_URL_ALLOWLIST = ["127.0.0.1"]
    yield f"http://127.0.0.1:{server.server_port}"
    server.stopping.set()
    server.shutdown()


def test_a_url_on_the_allow_list_is_fetched(client, fake_voices, reference_server):
    response = clone(client, reference_audio=f"{reference_server}/ref.wav")
    assert response.status_code == 200
    assert spoken_frequency(response) == pytest.approx(REF_FREQ, abs=15)


def test_a_relative_redirect_on_the_allow_list_is_followed(client, fake_voices, reference_server):
    assert clone(client, reference_audio=f"{reference_server}/to-ref").status_code == 200


@pytest.mark.parametrize("path, reason", [("/to-localhost", "loopback"), ("/to-metadata", "link-local")])
def test_redirects_to_internal_addresses_are_refused(client, fake_voices, reference_server, path, reason):
    response = clone(client, reference_audio=f"{reference_server}{path}")
    assert response.status_code == 400 and reason in response.json()["detail"]


def test_the_size_cap_holds_while_downloading(client, fake_voices, reference_server, settings):
    settings.TTS_MAX_UPLOAD_BYTES = 100_000
    response = clone(client, reference_audio=f"{reference_server}/big.wav")
    assert response.status_code == 413


def test_a_trickling_url_meets_one_deadline_for_the_whole_fetch(client, fake_voices, reference_server, settings):
    settings.TTS_URL_TIMEOUT = 1.5
    response = clone(client, reference_audio=f"{reference_server}/trickle")
    assert response.status_code == 400 and "did not deliver within" in response.json()["detail"]


def test_a_refused_connection_is_a_400_not_a_500(client, fake_voices, settings):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TTS_URL_ALLOWLIST = ["127.0.0.1"]
    response = clone(client, reference_audio=f"http://127.0.0.1:{port}/ref.wav")
    assert response.status_code == 400 and "cannot fetch URL" in response.json()["detail"]


def test_when_every_fetcher_is_busy_a_url_reference_is_503_at_once(client, fake_voices, reference_server, settings):
    from synthesis import fetch

    settings.TTS_URL_FETCHERS = 1
    pool, slots = fetch._executor(1)
    held = [slots.acquire(blocking=False) for _ in range(8)]  # whatever the pool's size, take every slot
    try:
        response = clone(client, reference_audio=f"{reference_server}/ref.wav")
        assert response.status_code == 503 and response["Retry-After"]
    finally:
        for taken in held:
            if taken:
                slots.release()


@pytest.mark.parametrize("address, reason", [
    ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
    ("2002:a00:1::", "private"),  # 6to4 around 10.0.0.1
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo whose client is 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 around 169.254.169.254
    ("::ffff:192.168.0.1", "private"),
])
def test_ipv4_hidden_inside_ipv6_is_checked(address, reason):
    import ipaddress

    from synthesis.fetch import blocked

    assert reason in blocked(ipaddress.ip_address(address))


def test_a_url_answering_404_is_400(client, fake_voices, reference_server):
    response = clone(client, reference_audio=f"{reference_server}/missing.wav")
    assert response.status_code == 400 and "404" in response.json()["detail"]


def test_openai_voice_with_base64_audio_clones(client, fake_voices):
    response = client.post("/v1/audio/speech", {"model": "tts-1", "input": "one two three", "response_format": "wav",
                                                "voice": base64.b64encode(ref_wav()).decode()},
                           content_type="application/json")
    assert response.status_code == 200
    assert spoken_frequency(response) == pytest.approx(REF_FREQ, abs=15)


def test_openai_voice_with_a_bad_url_is_an_openai_shaped_400(client, fake_voices):
    response = client.post("/v1/audio/speech", {"model": "tts-1", "input": "hi", "voice": "http://10.0.0.1/a.wav"},
                           content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["param"] == "voice"


def test_a_saved_speaker_keeps_its_latent_and_is_not_analysed_again(client, fake_voices):
    client.post("/add_speaker", {"name": "saved", "audio_file": SimpleUploadedFile("r.wav", ref_wav())})
    assert FakeEngine.prepared == 1
    voice = Voice.objects.get(name="saved")
    assert voice.latent and voice.engine == "fake"
    from synthesis import services
    from voices import services as voice_services

    services.latent_cache.clear()
    voice_services._latents.clear()  # as after a restart: only the database and storage remain
    response = client.post("/speak", {"name": "saved", "text": "one two three", "response_format": "wav"},
                           content_type="application/json")
    assert spoken_frequency(response) == pytest.approx(REF_FREQ, abs=15)
    assert FakeEngine.prepared == 1


def test_delete_removes_the_latent_file_too(client, fake_voices, settings):
    import os

    client.post("/add_speaker", {"name": "gone", "audio_file": SimpleUploadedFile("r.wav", ref_wav())})
    latent_path = Voice.objects.get(name="gone").latent.path
    client.post("/delete_speaker", {"name": "gone"})
    assert not os.path.exists(latent_path)


def test_a_voice_that_cannot_speak_its_test_phrase_is_never_saved(client, fake_voices, settings):
    FakeEngine.fail_on = "sample of my voice"
    response = client.post("/add_speaker", {"name": "mute", "audio_file": SimpleUploadedFile("r.wav", ref_wav())})
    assert response.status_code == 422
    assert "cannot speak" in response.json()["detail"] and "not saved" in response.json()["detail"]
    assert not Voice.objects.filter(name="mute").exists()
    media = settings.MEDIA_ROOT
    import os

    assert not os.path.exists(media) or not any(files for _, _, files in os.walk(media))


def test_a_saved_voice_carries_the_test_phrase_it_spoke(client, fake_voices):
    response = client.post("/add_speaker", {"name": "alice", "audio_file": SimpleUploadedFile("r.wav", ref_wav())})
    assert response.status_code == 200
    voice = Voice.objects.get(name="alice")
    samples, rate = decode(voice.sample_audio.read(), "mp3")
    assert len(samples) / rate > 0.3
