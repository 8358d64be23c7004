"""The web page in a real browser (Debian's chromium driven by Playwright), at desktop and phone width.

The page's CSP forbids eval, which wait_for_function's polling needs: tests wait on locators and events.
"""
import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.liveserver import ROOT, LiveServer

pytestmark = [pytest.mark.live_server, pytest.mark.real_engine]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LONG = ("This is a long text for the browser test. It has many sentences so that synthesis takes a while. "
        "The page should start playing the first sentence long before the last one is ready. ") * 4
# A voice a curator added by hand that cannot speak: it sorts first, and must never be anyone's default.
MUTE_VOICE = ("from voices.models import Voice; Voice.objects.create(name='aaa_mute', engine='piper', "
              "engine_voice='no_such_voice', language='en-us', gender='female', created_by='curator')")
# A second voice that speaks (Piper's one speaker under another name), with a description for its card.
SECOND_VOICE = ("from voices.models import Voice; Voice.objects.create(name='second_speaker', engine='piper', "
                "engine_voice='joe', language='en-us', gender='male', created_by='curator', "
                "description='A calm narrator for previews.')")
# A task whose engine failed, as the curator finds it in the task list.
FAILED_TASK = ("import datetime; from django.utils import timezone; from tasks.models import TaskRecord; "
               "now = timezone.now(); TaskRecord.objects.create(step_id='failed-task', status='failed', "
               "engine='piper', error='the engine ran out of memory', "
               "params={'fields': {'text': 'A chapter that failed.', 'reference_id': 'joe'}}, "
               "started_at=now - datetime.timedelta(seconds=95), completed_at=now)")


def manage(data, env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "TTS_DATA_DIR": str(data), **env})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("web")
    env = {"TTS_ENGINES": "piper", "TTS_CLONE_ENGINE": "piper", "DJANGO_SUPERUSER_PASSWORD": "pw"}
    live = LiveServer(data, env=env).wait_ready()
    manage(data, env, "createsuperuser", "--noinput", "--username", "curator", "--email", "c@example.com")
    for code in (MUTE_VOICE, SECOND_VOICE, FAILED_TASK):
        manage(data, env, "shell", "-c", code)
    live.data = data
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (scripts/test installs it)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
        yield chromium
        chromium.close()


def open_page(browser, server, viewport, path="/"):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"error: {e}"))
    page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}") if r.status == 404 else None)
    page.goto(server.url + path)
    return context, page


@contextlib.contextmanager
def ready_page(browser, server, viewport):
    """The page with its voices listed; it must end without console errors or failed requests."""
    context, page = open_page(browser, server, viewport)
    page.wait_for_selector("#voices input[value=joe]")
    yield page
    assert page.problems == []
    context.close()


@pytest.fixture
def page(browser, server):
    with ready_page(browser, server, DESKTOP) as desktop:
        yield desktop


@pytest.fixture
def phone(browser, server):
    with ready_page(browser, server, PHONE) as small:
        yield small


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    from synthesis.engines.piper import PiperEngine

    engine = PiperEngine()
    engine.load()
    speech = engine.synthesize("This recording is the reference for a cloned voice in the browser.", "joe")
    path = tmp_path_factory.mktemp("ref") / "reference.wav"
    sf.write(path, np.asarray(speech), 22050)
    return path


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def status(page, key):
    value = page.get_attribute("#status", f"data-{key}")
    return int(value) if value is not None else None


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def player_state(page):
    return page.locator("#player").evaluate("p => ({paused: p.paused, time: p.currentTime, duration: p.duration})")


def fits(page):
    """Every column of an admin list is visible at this width: no sideways scrolling, of the page or the table."""
    return page.evaluate("() => { const r = document.querySelector('#changelist .results');"
                         " return r !== null && r.scrollWidth <= r.clientWidth + 1"
                         " && document.documentElement.scrollWidth <= window.innerWidth; }")


def login(page, server, next_path):
    page.goto(server.url + f"/admin/login/?next={next_path}")
    page.fill("#id_username", "curator")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")


# --- speaking and playback -------------------------------------------------------------------

def test_synthesize_fills_the_audio_element(page):
    page.fill("#text", "Hello from the browser test.")
    page.click("#synthesize")
    page.wait_for_selector("#status[data-complete-ms]", timeout=60000)
    duration = page.locator("#player").evaluate(
        "p => p.duration > 0 ? p.duration : new Promise(done => p.addEventListener('durationchange', () => done(p.duration)))")
    assert duration > 0.5
    assert page.is_visible("#download")
    assert page.get_attribute("#download", "download") == "hello-from-the-browser-test-joe.wav"
    shot(page, "01-synthesized")


def test_mp3_streams_through_the_audio_element(page):
    page.select_option("#format", "mp3")
    page.fill("#text", "An mp3 from the browser test.")
    page.click("#synthesize")
    page.wait_for_selector("#status[data-complete-ms]", timeout=60000)
    assert status(page, "first-audio-ms") is not None
    assert page.get_attribute("#download", "download") == "an-mp3-from-the-browser-test-joe.mp3"
    page.click("#stop")
    assert player_state(page)["paused"]


def test_playback_starts_before_a_long_request_completes(page):
    page.fill("#text", LONG)
    page.click("#synthesize")
    page.wait_for_selector("#status[data-complete-ms]", timeout=120000)
    assert status(page, "first-audio-ms") < status(page, "complete-ms")
    shot(page, "02-long-text-streamed")


def test_a_finished_wav_keeps_playing_in_the_audio_element_and_stop_stops_it(page):
    page.fill("#text", LONG)
    page.click("#synthesize")
    page.wait_for_selector("#status[data-complete-ms]", timeout=120000)
    # the paragraph is still playing: Stop must stay available
    assert page.is_enabled("#stop")
    # the whole file takes over from Web Audio, where it was: one copy, and the element shows the position
    page.wait_for_selector("#status[data-playback=element]", timeout=20000)
    state = player_state(page)
    assert not state["paused"] and state["time"] > 0
    expect(page.locator("#progress-text")).to_contain_text("/")
    shot(page, "03-playing-after-synthesis")
    page.click("#stop")
    assert player_state(page)["paused"]
    expect(page.locator("#stop")).to_be_disabled()
    assert page.get_attribute("#status", "data-playback") == ""


def test_stop_interrupts(page):
    page.fill("#text", (LONG * 2)[:990])
    page.click("#synthesize")
    page.wait_for_selector("#status[data-first-audio-ms]", timeout=60000)
    page.click("#stop")
    page.wait_for_selector("#status[data-stopped=true]", timeout=10000)
    assert page.inner_text("#status") == "Stopped."
    assert page.is_enabled("#synthesize")
    shot(page, "04-stopped")


def cut_after_first_audio(route):
    """The server's own answer, ended as the server ends a stream that fails after its first audio."""
    response = route.fetch()
    events = [e for e in response.text().split("\n\n") if e.strip()]
    failure = {"type": "error", "error": {"message": "synthesis failed: the engine crashed", "type": "server_error",
                                          "code": "synthesis_failed"}}
    body = "\n\n".join(events[:2] + [f"data: {json.dumps(failure)}"]) + "\n\n"
    route.fulfill(response=response, body=body)


def test_a_failure_mid_stream_is_explained_and_the_status_is_not_left_synthesizing(page):
    page.route("**/v1/audio/speech", cut_after_first_audio)
    page.fill("#text", LONG)
    page.click("#synthesize")
    page.wait_for_selector("#status[data-failed=true]", timeout=60000)
    error = page.inner_text("#synth-error")
    assert "failed after" in error and "engine crashed" in error and "Failed to fetch" not in error
    assert "Synthesizing" not in page.inner_text("#status")
    assert page.is_enabled("#synthesize")
    assert "partial" in page.get_attribute("#download", "download")
    shot(page, "05-failed-mid-stream")


def test_a_server_that_cannot_be_reached_is_said_plainly(page):
    page.route("**/v1/audio/speech", lambda route: route.abort("connectionreset"))
    page.click("#synthesize")
    page.wait_for_selector("#status[data-failed=true]", timeout=20000)
    assert "could not be reached" in page.inner_text("#synth-error")
    assert "Synthesizing" not in page.inner_text("#status")
    assert page.is_enabled("#synthesize") and page.is_disabled("#stop")


class StalledSpeech:
    """An OpenAI speech SSE stream that sends half a second of audio, then stalls until released:
    a server between two segments, held by the test instead of by chance."""

    def __init__(self):
        import http.server
        import threading

        self.release = threading.Event()
        stall = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.write(stall.delta(0.5))
                self.wfile.flush()
                stall.release.wait(60)
                self.wfile.write(stall.delta(0.5) + b'data: {"type": "speech.audio.done"}\n\n')

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/speech"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def delta(seconds):
        import base64

        tone = (np.sin(np.arange(int(24000 * seconds)) * 2 * np.pi * 440 / 24000) * 8000).astype("<i2")
        event = {"type": "speech.audio.delta", "audio": base64.b64encode(tone.tobytes()).decode()}
        return f"data: {json.dumps(event)}\n\n".encode()

    def close(self):
        self.release.set()
        self.server.shutdown()


def test_a_stall_between_segments_shows_buffering_not_playing(page):
    stall = StalledSpeech()
    try:
        page.route("**/v1/audio/speech", lambda route: route.continue_(url=stall.url))
        page.click("#synthesize")
        page.wait_for_selector("#status[data-first-audio-ms]", timeout=20000)
        page.wait_for_selector("#status[data-buffering=true]", timeout=20000)
        assert page.inner_text("#status").startswith("Buffering")
        assert "received so far" in page.inner_text("#progress-text")
        shot(page, "05-buffering")
        stall.release.set()
        page.wait_for_selector("#status[data-complete-ms]", timeout=20000)
        assert page.get_attribute("#status", "data-buffering") == "false"
    finally:
        stall.close()


def test_empty_text_is_explained_next_to_the_text_box(page):
    page.fill("#text", "")
    page.click("#synthesize")
    assert "Type some text" in page.inner_text("#text-error")


# --- voices, settings, snippets, history -------------------------------------------------------

def test_the_servers_default_voice_is_preselected_and_settings_survive_a_reload(page):
    assert page.is_checked("#voices input[value=joe]")
    assert not page.is_checked("#voices input[value=aaa_mute]")

    def japanese_text(route):  # a text no voice here speaks (as a browser restoring the text box would have)
        response = route.fetch()
        route.fulfill(response=response, body=re.sub(r'(<textarea id="text"[^>]*>)[^<]*', r"\1こんにちは、世界。",
                                                     response.text()))

    page.route(re.compile(r".*/$"), japanese_text)
    page.reload()
    page.wait_for_selector("#voices input[value=joe]")
    assert page.input_value("#text") == "こんにちは、世界。"
    # still the server's default voice, not the first name (a voice that cannot speak)
    assert page.is_checked("#voices input[value=joe]")
    assert not page.is_checked("#voices input[value=aaa_mute]")
    page.unroute(re.compile(r".*/$"))
    page.reload()
    page.wait_for_selector("#voices input[value=joe]")
    page.fill("#speed", "1.25")
    page.select_option("#pitch", "high")
    page.fill("#seed", "7")
    page.check("#voices input[value=aaa_mute]")
    page.reload()
    page.wait_for_selector("#voices input[value=joe]")
    assert page.is_checked("#voices input[value=aaa_mute]")
    assert page.input_value("#speed") == "1.25" and page.input_value("#pitch") == "high"
    assert page.input_value("#seed") == "7"
    assert page.inner_text("#speed-value") == "1.25×"


def test_voice_cards_search_and_a_stored_preview_played_one_at_a_time(page, server):
    joe = page.locator("#voices li.voice[data-voice=joe]")
    expect(joe).to_contain_text("American English")
    expect(joe).to_contain_text("male")
    page.fill("#voice-search", "no such voice anywhere")
    expect(page.locator("#voices")).to_contain_text("No voice matches")
    page.fill("#voice-search", "joe")
    assert page.locator("#voices li.voice").count() == 1
    button = joe.locator("button.preview")
    button.click()
    page.wait_for_selector("#voices[data-previewing=joe]", timeout=60000)
    shot(page, "06-voice-preview")
    button.click()  # the same ▶ again stops it
    page.wait_for_selector("#voices:not([data-previewing])")
    page.fill("#voice-search", "")
    second = page.locator("#voices li.voice[data-voice=second_speaker]")
    expect(second.locator(".description")).to_have_text("A calm narrator for previews.")
    held = []
    page.route("**/voices/second_speaker/preview", lambda route: held.append(route))
    joe.locator("button.preview").click()
    page.wait_for_selector("#voices[data-previewing=joe]")
    second.locator("button.preview").click()  # a second voice's ▶ stops the first at once
    page.wait_for_selector("#voices:not([data-previewing])")
    expect(second.locator("button.preview")).to_have_attribute("aria-busy", "true")  # loading, said so
    expect(second.locator("button.preview")).to_be_disabled()
    assert held, "the preview was never asked for"
    held[0].continue_()
    page.wait_for_selector("#voices[data-previewing=second_speaker]", timeout=60000)
    expect(second.locator("button.preview")).not_to_have_attribute("aria-busy", "true")
    expect(joe.locator("button.preview")).to_have_text("▶")
    second.locator("button.preview").click()
    page.wait_for_selector("#voices:not([data-previewing])")
    # made once and stored: the file is on the server and served as is
    assert list((server.data / "media" / "voices" / "samples").glob("joe*.mp3"))
    first = page.request.get(server.url + "/voices/joe/preview").body()
    assert first == page.request.get(server.url + "/voices/joe/preview").body() and len(first) > 1000


def test_copy_as_curl_and_python_follow_the_settings(page):
    page.fill("#speed", "1.5")
    page.fill("#text", "Snippet text.")
    page.click("#snippets summary")
    curl = page.inner_text("#snippet-curl")
    assert "/v1/audio/speech" in curl and '"voice":"joe"' in curl and '"speed":1.5' in curl and "Snippet text." in curl
    python = page.inner_text("#snippet-python")
    assert 'voice="joe"' in python and "speed=1.5" in python
    shot(page, "07-snippets")


def test_history_replays_deletes_and_clears(page):
    for text in ("First history entry.", "Second history entry."):
        page.fill("#text", text)
        page.click("#synthesize")
        page.wait_for_selector("#status[data-complete-ms]", timeout=60000)
        page.wait_for_selector(f"#recent li:has-text('{text}')")
        page.click("#stop")
    items = page.locator("#recent li")
    assert items.count() == 2
    assert items.first.locator("a[download]").get_attribute("download") == "second-history-entry-joe.wav"
    assert items.first.locator("audio").get_attribute("src").startswith("blob:")
    shot(page, "08-history")
    items.first.locator("button.delete").click()
    expect(items).to_have_count(1)
    page.click("#history-clear")
    expect(items).to_have_count(0)
    assert page.is_visible("#history-empty")


# --- long text ----------------------------------------------------------------------------------

def test_a_text_file_over_the_limit_is_kept_whole_and_made_as_a_background_task(page, tmp_path):
    text = " ".join(f"Sentence number {i} of a text file that is longer than one request." for i in range(20))
    assert len(text) > 1000
    path = tmp_path / "chapter.txt"
    path.write_text(text)
    page.set_input_files("#text-file", str(path))
    expect(page.locator("#char-count")).to_contain_text(f"{len(text)} / 1000")
    assert page.input_value("#text") == text  # not cut to the limit
    assert page.is_visible("#long-note")
    page.click("#synthesize")
    page.wait_for_selector("#status[data-phase=done]", timeout=240000)
    assert page.is_visible("#download")
    assert page.get_attribute("#download", "download").startswith("sentence-number-0-of-a-text-file")
    assert page.get_attribute("#status", "data-task-status") == "completed"
    shot(page, "09-long-text-task")


def test_text_pasted_over_the_limit_is_kept_whole_and_said_to_go_as_a_task(page):
    text = "A pasted paragraph that keeps going well past the interactive limit. " * 20
    page.fill("#text", "")
    page.focus("#text")
    page.keyboard.insert_text(text)  # as a paste inserts it: no key events, the editor's own insertion
    assert page.input_value("#text") == text  # not cut to 1000 characters
    expect(page.locator("#char-count")).to_contain_text(f"{len(text)} / 1000")
    expect(page.locator("#char-count")).to_have_class(re.compile(r"\bover\b"))
    assert page.is_visible("#long-note")


def test_a_text_file_dropped_on_the_text_box_replaces_the_text(page):
    transfer = page.evaluate_handle("""() => { const t = new DataTransfer();
        t.items.add(new File(["Dropped text from a file."], "note.txt", {type: "text/plain"})); return t; }""")
    page.dispatch_event("#text", "drop", {"dataTransfer": transfer})
    expect(page.locator("#text")).to_have_value("Dropped text from a file.")
    expect(page.locator("#char-count")).to_contain_text("25 / 1000")


# --- cloning ---------------------------------------------------------------------------------------

def test_clone_preview_uses_its_own_sentence_shows_progress_and_runs_once(page, reference, tmp_path):
    sent = []

    def record(route):
        sent.append(route.request.post_data_buffer or b"")
        route.continue_()

    page.route("**/clone_voice", record)
    page.set_input_files("#clone-file", str(reference))
    expect(page.locator("#clone-info")).to_contain_text(" s of audio")
    page.fill("#trim-start", "0.3")
    page.fill("#clone-test-text", "A sentence only for the preview.")
    page.click("#clone-preview")
    expect(page.locator("#clone-preview")).to_be_disabled()
    expect(page.locator("#clone-status")).to_contain_text("Analysing")
    page.wait_for_selector("#clone-player[src^=blob]", timeout=120000)
    expect(page.locator("#clone-status")).to_have_text("Preview ready.")
    assert len(sent) == 1
    assert b"A sentence only for the preview." in sent[0] and b"Hello! This server speaks" not in sent[0]
    assert b"recording-trimmed.wav" in sent[0]
    shot(page, "10-clone-preview")
    garbage = tmp_path / "broken.wav"
    garbage.write_bytes(b"this is not audio" * 200)
    page.set_input_files("#clone-file", str(garbage))
    page.click("#clone-preview")
    expect(page.locator("#clone-error")).to_contain_text("The recording", timeout=60000)
    assert "reference_audio" not in page.inner_text("#clone-error")


def test_recording_shows_a_level_meter_and_can_be_trimmed(page):
    page.click("#record")
    expect(page.locator("#record-status")).to_contain_text("Recording")
    heard = re.compile(r"^(0\.(0[1-9]|[1-9]\d)\d*|1\.\d+)$")  # a peak of 0.01 or more
    expect(page.locator("#record-level")).to_have_attribute("data-peak", heard, timeout=20000)
    shot(page, "11-recording")
    page.click("#record")
    expect(page.locator("#record-status")).to_have_text("Recording ready.")
    expect(page.locator("#trim")).to_be_visible()


def test_a_cloned_voice_needs_consent_and_keeps_it(page, reference, server):
    page.set_input_files("#clone-file", str(reference))
    page.fill("#clone-text", "This recording is the reference.")
    page.fill("#clone-name", "browser_voice")
    page.click("#clone-save")
    expect(page.locator("#clone-error")).to_contain_text("consent")
    page.fill("#clone-consent-name", "Ann Example")
    page.check("#clone-consent")
    page.click("#clone-save")
    page.wait_for_selector("#voices input[value=browser_voice]", timeout=120000)
    assert page.is_checked("#voices input[value=browser_voice]")
    shot(page, "12-cloned-voice-saved")
    login(page, server, "/admin/voices/voice/?q=browser_voice")
    page.click("#result_list a:text('browser_voice')")
    consent = page.inner_text("fieldset:has-text('Provenance')")
    assert "I, Ann Example, agree" in consent and "API" in consent


def test_a_wrong_api_key_is_explained_next_to_the_key_field_and_a_persons_key_works(browser, tmp_path):
    live = LiveServer(tmp_path, "--api_key", "right", env={"TTS_ENGINES": "piper"}).wait_ready()
    try:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.goto(live.url + "/")
        assert page.is_visible("#api-key")
        page.fill("#api-key", "wrong")
        page.dispatch_event("#api-key", "change")
        page.fill("#text", "hello")
        page.click("#synthesize")
        expect(page.locator("#key-error")).to_contain_text("API key", timeout=20000)
        shot(page, "13-wrong-key")
        made = subprocess.run([sys.executable, "manage.py", "create_api_key", "page-key", "--owner", "pat",
                               "--create-owner"], cwd=ROOT, check=True, capture_output=True, text=True,
                              env={**os.environ, "TTS_DATA_DIR": str(tmp_path)})
        page.fill("#api-key", made.stdout.strip().splitlines()[-1])
        page.dispatch_event("#api-key", "change")
        page.fill("#text", "A person's key works on the page.")
        page.click("#synthesize")
        page.wait_for_selector("#status[data-complete-ms]", timeout=60000)
        expect(page.locator("#key-error")).to_be_empty()
        context.close()
    finally:
        live.stop()


# --- phone width ------------------------------------------------------------------------------------

def test_at_phone_width_nothing_scrolls_sideways_and_controls_stay_together(phone, server):
    voices = phone.locator("#voices")
    assert voices.evaluate("l => getComputedStyle(l).maxHeight") == "none"
    assert voices.evaluate("l => l.scrollHeight <= l.clientHeight + 1")
    assert phone.locator("#voices li.voice[data-voice=joe] button.preview").bounding_box()["width"] < 60
    label, select = phone.locator("label[for=filter-language]").bounding_box(), \
        phone.locator("#filter-language").bounding_box()
    assert label["y"] + label["height"] <= select["y"] + 4 and abs(label["x"] - select["x"]) < 4
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "14-phone-page")
    phone.goto(server.url + "/docs/websockets")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "15-phone-websocket-docs")


def test_at_phone_width_a_result_plays(phone):
    phone.fill("#text", "Hello from a phone.")
    phone.click("#synthesize")
    phone.wait_for_selector("#status[data-complete-ms]", timeout=60000)
    assert phone.is_visible("#download")
    shot(phone, "16-phone-synthesized")
    phone.emulate_media(color_scheme="dark")
    assert phone.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(20, 20, 24)"
    shot(phone, "17-phone-dark")


# --- docs, favicon, admin ---------------------------------------------------------------------------

def test_api_docs_are_served_without_a_cdn_and_link_the_websocket_docs(browser, server):
    context, page = open_page(browser, server, DESKTOP, "/docs")
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(server.url) else None)
    page.reload()
    page.wait_for_selector(".swagger-ui .opblock", timeout=20000)
    assert page.locator(".opblock-summary-path").count() >= 30
    assert page.locator(".swagger-ui .info a[href='/docs/websockets']").count() == 1
    assert external == []
    assert page.request.get(server.url + "/favicon.ico").ok
    shot(page, "18-api-docs")
    assert page.problems == []
    context.close()


def test_the_openapi_schema_documents_audio_errors_and_probes(browser, server):
    context = browser.new_context()
    schema = context.request.get(server.url + "/openapi.json").json()
    speak = schema["paths"]["/speak"]["post"]["responses"]
    assert "application/json" not in speak["200"]["content"] and "audio/mpeg" in speak["200"]["content"]
    assert {"404", "422", "400"} <= set(speak)
    assert {"400", "401"} <= set(schema["paths"]["/v1/audio/speech"]["post"]["responses"])
    for path in ("/healthz", "/readiness", "/v1/health", "/metrics"):
        assert path in schema["paths"], path
    context.close()


def test_the_admin_adds_a_voice_by_uploading_audio(browser, server, reference):
    context, page = open_page(browser, server, DESKTOP)
    login(page, server, "/admin/voices/voice/add/")
    assert page.locator("#id_engine_voice").count() == 0
    page.fill("#id_name", "admin_voice")
    page.set_input_files("#id_recording", str(reference))
    page.fill("#id_consent_statement", "I, Bo, agree that this server may speak with my voice.")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success", timeout=120000)
    assert "stored (" in page.inner_text("fieldset:has-text('How it speaks')")
    assert "I, Bo, agree" in page.inner_text("fieldset:has-text('Provenance')")
    shot(page, "19-admin-voice-added")
    response = page.request.post(server.url + "/speak", data={"name": "admin_voice", "text": "Hello there.",
                                                              "response_format": "wav"})
    assert response.ok
    page.goto(server.url + "/admin/voices/voice/")
    assert fits(page)
    assert "curator" in page.inner_text("#result_list tr:has-text('admin_voice')")
    shot(page, "20-admin-voices")
    context.close()


def test_the_admin_edits_a_voice_cloned_through_the_api(browser, server, reference):
    import base64

    context, page = open_page(browser, server, DESKTOP)
    added = page.request.post(server.url + "/add_speaker", form={
        "name": "api_clone", "audio": base64.b64encode(reference.read_bytes()).decode()})
    assert added.ok, added.text()
    login(page, server, "/admin/voices/voice/?q=api_clone")
    page.click("#result_list a:text-is('api_clone')")
    page.fill("#id_description", "Edited by the curator.")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    assert page.locator(".errornote, .errorlist").count() == 0
    voices = page.request.get(server.url + "/v1/audio/voices").json()["data"]
    assert [v["description"] for v in voices if v["id"] == "api_clone"] == ["Edited by the curator."]
    spoken = page.request.post(server.url + "/speak", data={"name": "api_clone", "text": "Still speaking.",
                                                            "response_format": "wav"})
    assert spoken.ok and spoken.body()[:4] == b"RIFF"
    context.close()


def test_the_admin_task_list_shows_the_error_and_a_human_duration(browser, server):
    context, page = open_page(browser, server, DESKTOP)
    login(page, server, "/admin/tasks/taskrecord/?q=failed-task")
    row = page.locator("#result_list tr:has-text('failed-task')")
    expect(row).to_contain_text("the engine ran out of memory")
    expect(row).to_contain_text("1 min 35 s")
    expect(row).to_contain_text("A chapter that failed.")
    assert fits(page)
    context.close()


def test_the_admin_preview_action_produces_audio_and_reports_failures(browser, server):
    from tests.audio import decode

    context, page = open_page(browser, server, DESKTOP)
    login(page, server, "/admin/voices/voice/")
    page.wait_for_selector("#result_list")
    page.check("#result_list tr:has-text('joe') input.action-select")
    page.select_option("select[name=action]", "synthesize_sample")
    page.click("button[name=index]")
    page.wait_for_selector("text=Synthesized 1 sample(s)")
    src = page.get_attribute("#result_list tr:has-text('joe') audio", "src")
    response = page.request.get(server.url + src)
    samples, rate = decode(response.body(), "mp3")
    assert response.ok and rate == 22050 and len(samples) / rate > 1.0
    page.check("#result_list tr:has-text('aaa_mute') input.action-select")
    page.select_option("select[name=action]", "synthesize_sample")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .error")
    assert "No sample was made" in page.inner_text(".messagelist")
    assert "Synthesized 0" not in page.inner_text(".messagelist")
    shot(page, "21-admin-sample")
    created = page.request.post(server.url + "/generate_audio_enhanced_async", data={
        "step_id": "admin-list-task", "text": "A task the curator sees in the list.", "reference_id": "joe"})
    assert created.ok
    page.goto(server.url + "/admin/tasks/taskrecord/")
    row = page.locator("#result_list tr:has-text('admin-list-task')")
    assert "joe" in row.inner_text() and "A task the curator sees" in row.inner_text()
    assert fits(page)
    shot(page, "22-admin-tasks")
    context.close()
