"""The web page and the admin in a real browser (Debian's chromium driven by Playwright)."""
import os
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
LONG = ("This is a long text for the browser test. It has many sentences so that synthesis takes a while. "
        "The page should start playing the first sentence long before the last one is ready. ") * 4


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("web")
    env = {"TTS_ENGINES": "piper", "TTS_CLONE_ENGINE": "piper", "DJANGO_SUPERUSER_PASSWORD": "pw"}
    live = LiveServer(data, env=env).wait_ready()
    subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "curator",
                    "--email", "c@example.com"], cwd=ROOT, env={**os.environ, "TTS_DATA_DIR": str(data), **env},
                   check=True, capture_output=True)
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
            "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/")
    page.wait_for_selector("#voices input[value=joe]")
    yield page
    context.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def status(page, key):
    value = page.get_attribute("#status", f"data-{key}")
    return int(value) if value is not None else None


def test_synthesize_fills_the_audio_element(page):
    page.fill("#text", "Hello from the browser test.")
    page.click("#synthesize")
    page.wait_for_selector("#status[data-complete-ms]", timeout=60000)
    # The page's CSP forbids eval, which wait_for_function's polling needs: wait on the event instead.
    duration = page.locator("#player").evaluate(
        "p => p.duration > 0 ? p.duration : new Promise(done => p.addEventListener('durationchange', () => done(p.duration)))")
    assert duration > 0.5
    assert page.is_visible("#download")
    shot(page, "01-synthesized")


def test_playback_starts_before_a_long_request_completes(page):
    page.fill("#text", LONG)
    page.click("#synthesize")
    page.wait_for_selector("#status[data-complete-ms]", timeout=120000)
    assert status(page, "first-audio-ms") < status(page, "complete-ms")
    shot(page, "02-long-text-streamed")


def test_stop_interrupts(page):
    page.fill("#text", LONG * 2)
    page.click("#synthesize")
    page.wait_for_selector("#status[data-first-audio-ms]", timeout=60000)
    page.click("#stop")
    page.wait_for_selector("#status[data-stopped=true]", timeout=10000)
    assert page.inner_text("#status") == "Stopped."
    assert page.is_enabled("#synthesize")
    shot(page, "03-stopped")


def test_empty_text_is_explained_next_to_the_text_box(page):
    page.fill("#text", "")
    page.click("#synthesize")
    assert "Type some text" in page.inner_text("#text-error")
    shot(page, "04-empty-text")


def test_a_cloned_voice_is_saved_and_appears_in_the_picker(page, tmp_path):
    from synthesis.engines.piper import PiperEngine

    engine = PiperEngine()
    engine.load()
    speech = engine.synthesize("This recording is the reference for a cloned voice in the browser.", "joe")
    reference = tmp_path / "reference.wav"
    sf.write(reference, np.asarray(speech), 22050)
    page.set_input_files("#clone-file", str(reference))
    page.fill("#clone-text", "This recording is the reference.")
    page.fill("#clone-name", "browser_voice")
    page.click("#clone-save")
    page.wait_for_selector("#voices input[value=browser_voice]", timeout=60000)
    assert page.is_checked("#voices input[value=browser_voice]")
    shot(page, "05-cloned-voice-saved")


def test_a_wrong_api_key_is_explained_next_to_the_key_field(browser, tmp_path):
    live = LiveServer(tmp_path, "--api_key", "right", env={"TTS_ENGINES": "piper"}).wait_ready()
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(live.url + "/")
        assert page.is_visible("#api-key")
        page.fill("#api-key", "wrong")
        page.dispatch_event("#api-key", "change")
        page.fill("#text", "hello")
        page.click("#synthesize")
        from playwright.sync_api import expect

        expect(page.locator("#key-error")).to_contain_text("API key", timeout=20000)
        shot(page, "06-wrong-key")
        context.close()
    finally:
        live.stop()


def test_the_admin_loads_and_the_preview_action_produces_audio(browser, server):
    from tests.audio import decode

    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/admin/login/?next=/admin/voices/voice/")
    page.fill("#id_username", "curator")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    page.check("#result_list tr:has-text('joe') input.action-select")
    page.select_option("select[name=action]", "synthesize_sample")
    page.click("button[name=index]")
    page.wait_for_selector("text=Synthesized 1 sample(s)")
    src = page.get_attribute("#result_list tr:has-text('joe') audio", "src")
    response = page.request.get(server.url + src)
    samples, rate = decode(response.body(), "mp3")
    assert response.ok and rate == 22050 and len(samples) / rate > 1.0
    shot(page, "07-admin-sample")
    page.goto(server.url + "/admin/tasks/taskrecord/")
    assert page.is_visible("#changelist")
    context.close()


def test_api_docs_are_served_without_a_cdn(browser, server):
    context = browser.new_context()
    page = context.new_page()
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(server.url) else None)
    page.goto(server.url + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20000)
    assert page.locator(".opblock-summary-path").count() >= 30
    assert external == []
    shot(page, "08-api-docs")
    context.close()
