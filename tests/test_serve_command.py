from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from synthesis.engines import registry
from synthesis.management.commands.serve import Command

pytestmark = pytest.mark.django_db


def serve(*args):
    """Run the start-up checks; the daphne loop itself is replaced so a test never hangs."""
    # The sweeper thread would outlive the test database; the daphne loop would never return.
    with mock.patch.object(Command, "_serve", autospec=True) as run, mock.patch("tasks.services.start_sweeper"):
        call_command("serve", "--skip-migrate", *args)
    return run


def test_an_unknown_engine_is_refused_at_start():
    with pytest.raises(CommandError, match="unknown engine 'nope'"):
        serve("--engine", "nope")


def test_a_missing_model_path_is_refused_at_start():
    with pytest.raises(CommandError, match="does not exist"):
        serve("--engine", "kokoro", "--model_path", "/no/such/model.onnx")


@pytest.mark.parametrize("backend", ["sglang", "llama-cpp", "mlx-lm", "bogus"])
def test_an_unavailable_backend_is_refused_at_start(backend):
    with pytest.raises(CommandError, match="not available"):
        serve("--backend", backend)


@pytest.mark.parametrize("backend", ["torch", "vllm"])
def test_an_llm_backend_without_weights_is_refused_at_start(backend, settings):
    settings.TTS_ENGINE_OPTIONS = {k: dict(v) for k, v in settings.TTS_ENGINE_OPTIONS.items()}
    settings.TTS_LLM_OPTIONS = dict(settings.TTS_LLM_OPTIONS)
    registry.reset()
    with mock.patch.dict("os.environ"), pytest.raises(CommandError, match="orpheus needs --model_path"):
        serve("--backend", backend)


def test_an_llm_backend_needs_an_llm_engine():
    with pytest.raises(CommandError, match="none is enabled"):
        serve("--backend", "torch", "--engine", "fake")


def test_a_gpu_device_is_refused_for_the_embedded_engines():
    with pytest.raises(CommandError, match="cpu"):
        serve("--llm_device", "cuda")


def test_an_engine_that_fails_to_load_stops_the_start(settings, tmp_path):
    registry.reset()
    settings.TTS_ENGINE_OPTIONS = {"piper": {"voices_dir": str(tmp_path / "missing")}}
    with pytest.raises(CommandError, match="does not exist"):
        serve("--engine", "piper")


def test_a_good_start_loads_engines_registers_voices_and_serves(settings):
    from voices.models import Voice

    run = serve("--engine", "fake", "--port", "8123", "--api_key", "k")
    run.assert_called_once_with(mock.ANY, "127.0.0.1", 8123)  # closed by default: this machine only
    assert Voice.objects.filter(engine="fake").count() == 2
    assert settings.TTS_API_KEY == "k"
