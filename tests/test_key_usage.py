"""Usage per key and day: requests, characters and audio seconds by dialect and engine, written in
batches, shown in the admin with totals, exported as CSV, and counted in Prometheus by key name."""
import asyncio
import csv
import io

import pytest
from django.contrib.auth.models import User
from prometheus_client import REGISTRY

from synthesis import usage
from synthesis.models import ApiKey, UsageDay
from tests.audio import body_of, decode
from tests.factories import bearer, make_key

pytestmark = pytest.mark.django_db


def audio_seconds(response, fmt="wav") -> float:
    samples, rate = decode(body_of(response), fmt)
    return len(samples) / rate


def counter(name, key, dialect, engine) -> float:
    return REGISTRY.get_sample_value(name, {"key": key, "dialect": dialect, "engine": engine}) or 0.0


def test_usage_totals_match_the_requests_made(client, fake_voices):
    key, other = make_key(), make_key()
    texts = ["hello there", "a second sentence to speak", "third"]
    heard = 0.0
    for text in texts:
        response = client.post("/speak", {"name": "fake_a", "text": text, "response_format": "wav"},
                               content_type="application/json", **bearer(key))
        heard += audio_seconds(response)
    openai = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "fake_b", "input": "open ai words",
                                              "response_format": "wav"}, content_type="application/json",
                         **bearer(key))
    heard_openai = audio_seconds(openai)
    client.get("/audio_roles", **bearer(key))
    client.get("/audio_roles", **bearer(other))
    assert not UsageDay.objects.exists()  # nothing written per request
    usage.flush()

    flash = UsageDay.objects.get(key=key, dialect="flashtts", engine="fake")
    assert flash.requests == 3 and flash.characters == sum(map(len, texts))
    assert flash.audio_seconds == pytest.approx(heard, abs=0.01)
    listing = UsageDay.objects.get(key=key, dialect="flashtts", engine="")
    assert listing.requests == 1 and listing.characters == 0
    spoken = UsageDay.objects.get(key=key, dialect="openai", engine="fake")
    assert (spoken.requests, spoken.characters) == (1, len("open ai words"))
    assert spoken.audio_seconds == pytest.approx(heard_openai, abs=0.01)
    assert usage.totals(UsageDay.objects.filter(key=other)) == {"requests": 1, "characters": 0, "audio_seconds": 0}


def test_flushes_add_up_across_batches(client, fake_voices):
    key = make_key()
    for _ in range(2):
        client.post("/speak", {"name": "fake_a", "text": "four", "response_format": "wav"},
                    content_type="application/json", **bearer(key))
        usage.flush()
    row = UsageDay.objects.get(key=key, engine="fake")
    assert (row.requests, row.characters) == (2, 8)


def test_prometheus_counts_by_key_name(client, fake_voices):
    key = make_key(name="team-prom")
    before = counter("tts_key_characters_total", "team-prom", "flashtts", "fake")
    client.post("/speak", {"name": "fake_a", "text": "12345", "response_format": "wav"},
                content_type="application/json", **bearer(key))
    assert counter("tts_key_characters_total", "team-prom", "flashtts", "fake") == before + 5
    assert counter("tts_key_requests_total", "team-prom", "flashtts", "fake") >= 1
    usage.flush()  # audio seconds are counted once the job has ended
    assert counter("tts_key_audio_seconds_total", "team-prom", "flashtts", "fake") > 0
    scraped = client.get("/metrics", **bearer(make_key(["metrics"]))).content.decode()
    assert 'tts_key_characters_total{dialect="flashtts",engine="fake",key="team-prom"} 5.0' in scraped


@pytest.mark.django_db(transaction=True)
def test_websocket_connections_and_their_speech_are_counted(fake_voices):
    from channels.testing import WebsocketCommunicator

    from tests import openspeech_client
    from ttsproject.asgi import application

    key = make_key(["speak"])

    async def query():
        ws = WebsocketCommunicator(application, "/api/v1/tts/ws_binary",
                                   headers=[(b"authorization", f"Bearer; {key.token}".encode())])
        await ws.connect()
        await ws.send_to(bytes_data=openspeech_client.build_client_frame(
            {"audio": {"voice_type": "fake_a", "encoding": "wav"}, "request": {"text": "hello", "operation": "query"}}))
        reply = openspeech_client.parse_server_frame((await ws.receive_output(timeout=20))["bytes"])
        await ws.disconnect()
        return reply[2]

    wav = asyncio.run(query())
    usage.flush()
    connection = UsageDay.objects.get(key=key, dialect="openspeech", engine="")
    spoken = UsageDay.objects.get(key=key, dialect="openspeech", engine="fake")
    assert connection.requests == 1 and spoken.characters == 5
    samples, rate = decode(wav, "wav")
    assert spoken.audio_seconds == pytest.approx(len(samples) / rate, abs=0.01)




def test_the_admin_shows_totals_and_exports_csv(admin_client, fake_voices):
    key = make_key(name="team-csv")
    for text in ("one", "three"):
        admin_client.post("/speak", {"name": "fake_a", "text": text, "response_format": "wav"},
                          content_type="application/json", **bearer(key))
    usage.flush()
    page = admin_client.get(f"/admin/synthesis/usageday/?key__id__exact={key.pk}")
    assert page.status_code == 200
    assert b"2 requests, 8 characters" in page.content
    ids = list(UsageDay.objects.filter(key=key).values_list("pk", flat=True))
    exported = admin_client.post("/admin/synthesis/usageday/", {"action": "export_csv", "_selected_action": ids})
    assert exported["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [(r["key"], r["dialect"], r["engine"], r["requests"], r["characters"]) for r in rows] == [
        ("team-csv", "flashtts", "fake", "2", "8")]
    assert float(rows[0]["audio_seconds"]) > 0


def test_the_admin_shows_a_new_token_once_and_revokes(admin_client, fake_voices):
    owner = User.objects.create_user("team-admin")
    response = admin_client.post("/admin/synthesis/apikey/add/", {
        "name": "made-in-admin", "owner": owner.pk, "scopes": ["speak", "clone"], "requests_per_minute": "60",
        "characters_per_day": "", "expires_at_0": "", "expires_at_1": ""}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    token = next(word for m in shown for word in m.split() if word.startswith("tts_"))
    key = ApiKey.objects.get(name="made-in-admin")
    assert key.scopes == ["speak", "clone"] and key.requests_per_minute == 60 and token.startswith(key.prefix)
    assert token.encode() not in admin_client.get(f"/admin/synthesis/apikey/{key.pk}/change/").content
    assert admin_client.get("/audio_roles", **bearer(token)).status_code == 200
    admin_client.post("/admin/synthesis/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert admin_client.get("/audio_roles", **bearer(token)).status_code == 401
