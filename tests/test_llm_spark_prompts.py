"""Spark-TTS as the release's reference code runs it: the reference intake (soxr to 16 kHz,
volume normalised, not trimmed), controllable voices in one pass, and prompt-text cloning.

The release is tiny and random (tests/llm_checkpoints.py), so tests check tokens and prompt layout.
"""
import base64
import io
import threading

import numpy as np
import pytest

from synthesis import services
from synthesis.engines.base import SamplingParams

torch = pytest.importorskip("torch")

from synthesis.engines.llm.spark_presets import parse_preset  # noqa: E402
from tests.test_llm_spark import engine, make_engine  # noqa: E402,F401  (engine: the shared fixture)


def speech_like(seconds: float, rate: int, leading_silence: float = 0.0, channels: int = 1) -> bytes:
    """A 16-bit WAV with a voiced-like, changing signal (the tokens must see something)."""
    import soundfile as sf

    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * rate)) / rate
    voiced = sum(np.sin(2 * np.pi * (150 + 40 * np.sin(2 * np.pi * 0.7 * t)) * k * t) / k for k in range(1, 8))
    signal = 0.25 * voiced / np.abs(voiced).max() * (0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t) ** 2)
    signal = np.concatenate([np.zeros(int(leading_silence * rate)), signal + 0.002 * rng.standard_normal(t.size)])
    if channels > 1:
        signal = np.stack([signal, 0.3 * rng.standard_normal(signal.size)], axis=1)
    buffer = io.BytesIO()
    sf.write(buffer, signal, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def release_tokens(engine, wav_bytes: bytes):
    """What the release's tokenizer sees: soundfile's samples (first channel) at the file's rate."""
    import soundfile as sf

    samples, rate = sf.read(io.BytesIO(wav_bytes))
    return engine.reference_tokenizer.tokenize(samples if samples.ndim == 1 else samples[:, 0], rate)


def tokens_of(latent: str):
    with np.load(io.BytesIO(base64.b64decode(latent))) as npz:
        return [int(t) for t in npz["global_tokens"]], [int(t) for t in npz["semantic"]]


# 1. the reference intake ---------------------------------------------------------------------
@pytest.mark.parametrize("silence,channels", [(0.0, 1), (0.5, 1), (0.5, 2)])
def test_tokens_through_the_intake_match_the_release_for_a_16k_reference(engine, silence, channels):
    data = speech_like(3.0, 16000, leading_silence=silence, channels=channels)
    prepared = services.prepare_reference(data, "audio", cached=False)
    assert prepared.recorded_rate == 16000 and len(prepared.recorded) == int((3.0 + silence) * 16000)
    assert np.abs(prepared.recorded[:int(silence * 16000)]).max(initial=0) == 0  # leading silence kept
    assert tokens_of(services.reference_latent(prepared, engine)) == tuple(map(list, release_tokens(engine, data)))


def test_other_rates_are_resampled_straight_to_16k_with_soxr(engine):
    import soxr

    data = speech_like(2.0, 44100)
    prepared = services.prepare_reference(data, "audio", cached=False)
    assert prepared.recorded_rate == 44100
    resampled = soxr.resample(prepared.recorded.astype(np.float64), 44100, 16000, quality="VHQ")
    assert tokens_of(services.reference_latent(prepared, engine)) == engine.reference_tokenizer.tokenize(
        resampled, 16000)


@pytest.mark.parametrize("peak", [0.05, 0.25])
def test_volume_is_measured_on_the_samples_as_given_also_when_a_quiet_one_is_lifted(peak):
    """The release sorts the magnitudes once, before lifting a quiet signal (peak < 0.1) to 0.1,
    and takes the loudness (mean of the 90th-99th percentile above 0.01) from that sort."""
    from synthesis.engines.llm.spark_audio import normalize_volume

    rng = np.random.default_rng(5)
    wav = rng.standard_normal(16000) * np.linspace(0.1, 1.0, 16000)
    wav = wav / np.abs(wav).max() * peak
    loud = np.sort(np.abs(wav))
    loud = loud[loud > 0.01]
    volume = loud[int(0.9 * loud.size):int(0.99 * loud.size)].mean()
    lifted = wav / peak * 0.1 if peak < 0.1 else wav
    expected = lifted * np.clip(0.2 / volume, 0.1, 10)
    expected = expected / np.abs(expected).max() if np.abs(expected).max() > 1 else expected
    assert np.allclose(normalize_volume(wav), expected, rtol=0, atol=1e-12)


def test_the_intake_still_refuses_silence_for_the_codec_engines(engine):
    from synthesis.errors import InvalidInput

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(32000), 16000, format="WAV", subtype="PCM_16")
    with pytest.raises(InvalidInput, match="silent"):
        services.prepare_reference(buffer.getvalue(), "audio", cached=False)


# 2. controllable voices in one pass --------------------------------------------------------------
def test_every_pitch_and_speed_label_of_the_release_names_a_preset(engine):
    assert parse_preset("male-very_low-very_high").key == "male-very_low-very_high"
    assert parse_preset("female").key == "female-moderate-moderate"
    assert engine.is_voice("female-high-low") and not engine.is_voice("female-loud")
    assert not engine.is_voice("robot") and not engine.is_voice("male-low-low-low")
    prompt = engine.control_prompt("Hi.", parse_preset("male-very_low-very_high"))
    ids = engine.ids
    assert prompt[-5:] == [ids["gender_1"], ids["pitch_0"], ids["speed_4"], ids["end_style_label"],
                           ids["start_global_token"]]


def test_a_preset_generates_global_and_semantic_tokens_in_one_pass_with_the_real_text(engine):
    preset = parse_preset("female-low-high")
    generation = engine.backend.submit(engine.one_pass_generation("Good evening, everyone.", preset,
                                                                  SamplingParams(seed=5, max_tokens=30)))
    list(generation)
    text_ids = engine.text_ids("Good evening, everyone.")
    assert generation.prompt[2:2 + len(text_ids)] == text_ids  # the real text, not empty content
    tokens = generation.tokens
    assert all(engine.global_base <= t < engine.global_base + 64 for t in tokens[:32])
    assert tokens[32:34] == [engine.ids["end_global_token"], engine.ids["start_semantic_token"]]
    assert 0 < len(tokens[34:]) <= 30
    assert all(engine.semantic_base <= t < engine.semantic_base + 512 for t in tokens[34:])


def test_a_preset_keeps_the_first_segments_global_tokens_for_later_segments(spark_release, tmp_path):
    engine = make_engine(spark_release, speaker_cache=str(tmp_path))
    submitted = []
    real_submit = engine.backend.submit
    engine.backend.submit = lambda generation: submitted.append(generation) or real_submit(generation)
    engine.synthesize("The first segment.", "male-high-low", sampling=SamplingParams(seed=2, max_tokens=20))
    made = [t - engine.global_base for t in submitted[0].tokens[:32]]
    assert engine.preset_globals("male-high-low") == made
    engine.synthesize("The second one.", "male-high-low", sampling=SamplingParams(seed=2, max_tokens=20))
    second = submitted[1].prompt
    assert second[:len(engine.control_prompt("The second one.", parse_preset("male-high-low")))] == \
        engine.control_prompt("The second one.", parse_preset("male-high-low"))
    assert [t - engine.global_base for t in second[-34:-2]] == made  # then only semantic tokens are made
    assert make_engine(spark_release, speaker_cache=str(tmp_path)).preset_globals("male-high-low") == made


def test_concurrent_first_segments_of_a_preset_share_one_voice(spark_release):
    engine = make_engine(spark_release)
    submitted, lock = [], threading.Lock()
    real_submit = engine.backend.submit

    def record(generation):
        with lock:
            submitted.append(generation)
        return real_submit(generation)

    engine.backend.submit = record
    threads = [threading.Thread(target=engine.synthesize, args=(f"Segment {i}.", "female-very_high"),
                                kwargs={"sampling": SamplingParams(seed=i, max_tokens=15)}) for i in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    made = engine.preset_globals("female-very_high")
    one_pass = [g for g in submitted if g.constraint.lead]
    assert len(one_pass) == 1 and [t - engine.global_base for t in one_pass[0].tokens[:32]] == made
    for generation in submitted:
        if not generation.constraint.lead:
            assert [t - engine.global_base for t in generation.prompt[-34:-2]] == made


# 3. prompt-text cloning ------------------------------------------------------------------------
def latent_with(engine, text: str = "") -> str:
    prepared = services.prepare_reference(speech_like(2.0, 16000), "audio", cached=False)
    return services.reference_latent(prepared, engine, text)


def test_the_transcript_and_the_reference_semantic_tokens_go_where_the_release_puts_them(engine):
    latent = latent_with(engine, "This is the reference.")
    reference = engine.latent_prompt(latent)
    assert reference.prompt_text == "This is the reference." and reference.semantic
    prompt = engine.generation("Now the new words.", "", latent=latent).prompt
    ids = engine.ids
    content = engine.text_ids("This is the reference." + "Now the new words.")  # one string, as the release
    assert prompt == [ids["task_tts"], ids["start_content"], *content, ids["end_content"], ids["start_global_token"],
                      *(engine.global_base + t for t in reference.global_tokens), ids["end_global_token"],
                      ids["start_semantic_token"], *(engine.semantic_base + t for t in reference.semantic)]
    audio = engine.synthesize("Now the new words.", "", latent=latent, sampling=SamplingParams(seed=1, max_tokens=20))
    assert 0 < len(audio) <= 20 * 320  # only the continuation is spoken, not the reference again


def test_without_a_transcript_cloning_uses_the_global_tokens_alone(engine):
    """The release's prompt ends at `<|end_global_token|>` and the LM writes `<|start_semantic_token|>`
    next; the prompt here holds that marker already: the same context for every semantic token."""
    latent = latent_with(engine)
    reference = engine.latent_prompt(latent)
    ids, prompt = engine.ids, engine.generation("Only this.", "", latent=latent).prompt
    assert reference.prompt_text == ""
    assert prompt == [ids["task_tts"], ids["start_content"], *engine.text_ids("Only this."), ids["end_content"],
                      ids["start_global_token"], *(engine.global_base + t for t in reference.global_tokens),
                      ids["end_global_token"], ids["start_semantic_token"]]
    assert latent_with(engine, "   ") == latent  # a blank transcript is none


def test_a_latent_made_before_transcripts_were_kept_still_loads(engine):
    buffer = io.BytesIO()
    np.savez(buffer, global_tokens=np.arange(32, dtype=np.int32) % 64, semantic=np.arange(50, dtype=np.int32))
    old = base64.b64encode(buffer.getvalue()).decode()
    assert engine.latent_prompt(old).prompt_text == ""
    assert engine.generation("Hi.", "", latent=old).prompt[-1] == engine.ids["start_semantic_token"]


def test_a_transcript_is_kept_only_for_engines_that_use_one(engine):
    from tests.fakes import FakeEngine

    prepared = services.prepare_reference(speech_like(2.0, 16000), "audio", cached=False)
    fake = FakeEngine()
    assert services.reference_latent(prepared, fake, "words") == services.reference_latent(prepared, fake)
