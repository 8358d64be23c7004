"""The Spark-TTS engine: BiCodec written to the release's layout, zero-shot cloning through
every cloning dialect, preset voices, constrained sampling, seeded and streamed audio.

The release is tiny and random (tests/llm_checkpoints.py): it speaks noise, so tests check
what the machinery guarantees (layouts, token ranges, rates, lengths, determinism, streaming).
"""
import base64
import io
import threading

import numpy as np
import ormsgpack
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from synthesis import services
from synthesis.engines import registry
from synthesis.engines.base import EngineError, EngineOptions, SamplingParams
from tests.audio import body_of, chunks_of, decode, tone_wav

torch = pytest.importorskip("torch")  # requirements-llm.txt; the test command installs it

from synthesis.engines.llm import bicodec  # noqa: E402
from synthesis.engines.llm.bicodec_speaker import FSQ  # noqa: E402
from synthesis.engines.llm.spark import PRESETS, SparkEngine  # noqa: E402
from synthesis.engines.llm.windows import WindowedDecoder  # noqa: E402

TOKEN = 320  # samples per semantic token at 16 kHz


def make_engine(path, **extra) -> SparkEngine:
    engine = SparkEngine(EngineOptions(model_path=path, extra={"llm_device": "cpu", "detokenizer_device": "cpu",
                                                               "tokenizer_device": "cpu", **extra}))
    engine.load()
    return engine


@pytest.fixture(scope="module")
def engine(spark_release):
    return make_engine(spark_release)


def latent_of(engine, wav_bytes: bytes) -> str:
    samples, rate = decode(wav_bytes, "wav")
    return base64.b64encode(engine.prepare_reference(samples, rate)).decode()


@pytest.fixture(scope="module")
def latent(engine):
    return latent_of(engine, tone_wav(seconds=3.0))


# BiCodec ------------------------------------------------------------------------------------
def test_bicodec_loads_the_release_layout_folding_weight_norm_and_skipping_training_parts(spark_release):
    from safetensors.torch import load_file

    model = bicodec.load_bicodec(f"{spark_release}/BiCodec")
    stored = load_file(f"{spark_release}/BiCodec/model.safetensors")
    assert any(k.startswith("postnet.") for k in stored) and not hasattr(model, "postnet")
    g = stored["decoder.model.0.parametrizations.weight.original0"]
    v = stored["decoder.model.0.parametrizations.weight.original1"]
    expected = g * v / v.flatten(1).norm(dim=1).view(-1, 1, 1)
    assert torch.allclose(model.decoder.model[0].weight, expected, atol=1e-6)


def test_a_checkpoint_missing_tensors_is_refused_with_a_reason(spark_release, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(f"{spark_release}/BiCodec", tmp_path / "BiCodec")
    state = load_file(str(tmp_path / "BiCodec/model.safetensors"))
    del state["quantizer.codebook.weight"]
    save_file(state, str(tmp_path / "BiCodec/model.safetensors"))
    with pytest.raises(EngineError, match="lacks 1 tensors"):
        bicodec.load_bicodec(tmp_path / "BiCodec")
    with pytest.raises(EngineError, match="config.yaml and model.safetensors"):
        bicodec.load_bicodec(tmp_path)


def test_the_mel_filters_are_torchaudios_slaney_bank():
    from transformers.audio_utils import mel_filter_bank

    ours = bicodec.slaney_mel_filters(16000, 1024, 128, 10, 8000)
    reference = mel_filter_bank(num_frequency_bins=513, num_mel_filters=128, min_frequency=10,
                                max_frequency=8000, sampling_rate=16000, norm="slaney", mel_scale="slaney")
    assert np.allclose(ours, reference, atol=1e-7)


def test_fsq_indices_and_codes_round_trip():
    fsq = FSQ([4, 4, 4, 4, 4, 4])
    indices = torch.arange(fsq.codebook_size)
    codes = fsq.indices_to_codes(indices)
    assert fsq.codebook_size == 4096 and codes.abs().max() <= 1
    assert torch.equal(fsq.codes_to_indices(codes), indices)
    quantized = fsq.quantize(codes * 3)  # any input lands on a valid code of the grid
    quantized_indices = fsq.codes_to_indices(quantized)
    assert torch.equal(fsq.indices_to_codes(quantized_indices), quantized)
    assert 0 <= quantized_indices.min() and quantized_indices.max() < fsq.codebook_size
    # large inputs saturate at the grid's ends, zero stays zero (even levels: -1 ... 0.5)
    assert torch.equal(fsq.quantize(torch.full((1, 6), 100.0)), torch.full((1, 6), 0.5))
    assert torch.equal(fsq.quantize(torch.full((1, 6), -100.0)), torch.full((1, 6), -1.0))
    assert torch.equal(fsq.quantize(torch.zeros(1, 6)), torch.zeros(1, 6))


def test_detokenize_gives_320_samples_per_token(engine):
    audio = engine.codec.decode(list(range(25)), [1] * 32)
    assert audio.shape == (25 * TOKEN,) and np.abs(audio).max() <= 1.0


# the engine ----------------------------------------------------------------------------------
def test_the_engine_loads_the_release_and_lists_its_preset_voices(engine):
    assert engine.sample_rate == 16000
    assert [v.id for v in engine.voices()] == list(PRESETS)
    assert engine.has("clone") and engine.has("stream") and engine.has("sampling")


def test_a_missing_release_is_refused_with_what_it_must_hold(tmp_path):
    with pytest.raises(EngineError, match="BiCodec/, LLM/ and wav2vec2"):
        make_engine(str(tmp_path))


def test_a_reference_becomes_global_and_semantic_tokens(engine, latent):
    with np.load(io.BytesIO(base64.b64decode(latent))) as npz:
        global_tokens, semantic = npz["global_tokens"], npz["semantic"]
    assert global_tokens.shape == (32,) and ((0 <= global_tokens) & (global_tokens < 64)).all()
    assert abs(len(semantic) - 3.0 * 50) <= 2 and ((0 <= semantic) & (semantic < 512)).all()
    other = latent_of(engine, tone_wav(seconds=3.0, freq=440.0, amplitude=0.6))
    assert engine.latent_globals(other) != engine.latent_globals(latent)


def test_a_short_reference_is_repeated_to_the_reference_clip_and_a_foreign_latent_refused(engine):
    short = latent_of(engine, tone_wav(seconds=0.5))
    assert len(engine.latent_globals(short)) == 32
    with pytest.raises(EngineError, match="not made by the spark engine"):
        engine.synthesize("hi", "", latent=base64.b64encode(b"not a latent").decode())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sampling_only_ever_emits_semantic_tokens(engine, latent, seed):
    generation = engine.backend.submit(engine.generation(
        "Hello there, friends.", "", latent=latent,
        sampling=SamplingParams(seed=seed, temperature=1.5, top_p=1.0, top_k=0, max_tokens=120)))
    list(generation)
    assert generation.tokens
    assert all(engine.semantic_base <= t < engine.semantic_base + 512 for t in generation.tokens)


def test_the_same_seed_gives_the_same_audio_and_max_tokens_bounds_it(engine, latent):
    sampling = SamplingParams(seed=7, max_tokens=60)
    first = engine.synthesize("The quick brown fox.", "", latent=latent, sampling=sampling)
    second = engine.synthesize("The quick brown fox.", "", latent=latent, sampling=sampling)
    other = engine.synthesize("The quick brown fox.", "", latent=latent, sampling=SamplingParams(seed=8, max_tokens=60))
    assert np.array_equal(first, second) and not np.array_equal(first, other)
    assert 0 < len(first) <= 60 * TOKEN and len(first) % TOKEN == 0


def test_a_preset_voice_keeps_its_global_tokens_across_segments_and_restarts(spark_release, tmp_path):
    engine = make_engine(spark_release, speaker_cache=str(tmp_path))
    assert engine.preset_globals("female") is None  # made by the first segment it speaks
    engine.synthesize("One.", "female", sampling=SamplingParams(max_tokens=20))
    first = engine.preset_globals("female")
    engine.synthesize("Two.", "female", sampling=SamplingParams(max_tokens=20))
    assert engine.preset_globals("female") == first and len(first) == 32
    assert make_engine(spark_release, speaker_cache=str(tmp_path)).preset_globals("female") == first
    engine.synthesize("One.", "male", sampling=SamplingParams(max_tokens=20))
    assert engine.preset_globals("male") != first


def test_windowed_decoding_matches_decoding_all_tokens_at_once(engine):
    codes = [int(c) for c in np.random.default_rng(0).integers(0, 512, 150)]
    globals_ = [int(t) for t in np.random.default_rng(1).integers(0, 64, 32)]
    decoder, pieces = engine.codec.stream(globals_), []
    assert isinstance(decoder, WindowedDecoder)
    for code in codes:
        pieces += decoder.push(code)
    pieces += decoder.flush()
    whole, windowed = engine.codec.decode(codes, globals_), np.concatenate(pieces)
    assert len(pieces) > 2 and len(windowed) == len(whole) == 150 * TOKEN
    assert np.sqrt(np.mean((whole - windowed) ** 2)) < 1e-3 * np.sqrt(np.mean(whole ** 2))


HELD = 40  # generated tokens: the first piece needs fewer (its ten semantic tokens and what precedes them)


def test_audio_streams_while_tokens_are_still_being_generated(engine, latent):
    generation = engine.generation("A sentence long enough to stream.", "", latent=latent,
                                   sampling=SamplingParams(seed=3, max_tokens=200))
    # On a busy machine the generator can outrun the reader and finish first however early the
    # first piece could be decoded. Holding it after HELD tokens until the first piece is decoded
    # makes "decoded before generation ended" a question of order.
    first_piece, emit = threading.Event(), generation.emit

    def emit_after_the_first_piece(token):
        if len(generation.tokens) == HELD:
            first_piece.wait(120)
        emit(token)
    generation.emit = emit_after_the_first_piece
    engine.backend.submit(generation)
    decoder = engine.codec.stream(engine.latent_globals(latent))
    pieces, tokens_at_first_piece = [], None
    for code in engine.semantic_tokens(generation):
        for piece in decoder.push(code):
            if tokens_at_first_piece is None:
                tokens_at_first_piece = len(generation.tokens)
                first_piece.set()
            pieces.append(piece)
    pieces += decoder.flush()
    assert len(pieces) > 2 and len(pieces[0]) == 10 * TOKEN  # the first piece: ten tokens (0.2 s)
    assert tokens_at_first_piece <= HELD < len(generation.tokens)  # ... decoded before generation ended
    assert sum(map(len, pieces)) == len(generation.tokens) * TOKEN


def test_concurrent_clones_batch_their_decoding(spark_release, latent):
    batched = make_engine(spark_release, batch_size=4, wait_timeout=0.05)
    results = {}

    def speak(seed):
        results[seed] = batched.synthesize("Two voices at once.", "", latent=latent,
                                           sampling=SamplingParams(seed=seed, max_tokens=80))

    threads = [threading.Thread(target=speak, args=(s,)) for s in (1, 2, 3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    alone = make_engine(spark_release)
    for seed, audio in results.items():
        expected = alone.synthesize("Two voices at once.", "", latent=latent,
                                    sampling=SamplingParams(seed=seed, max_tokens=80))
        assert len(audio) == len(expected) and np.allclose(audio, expected, atol=1e-4)


# through the service ---------------------------------------------------------------------------
@pytest.fixture
def spark_voices(db, settings, spark_release):
    """Spark enabled as the clone engine, its preset voices in the catalog."""
    from voices.services import sync_builtin_voices

    settings.TTS_ENGINES = ["fake", "spark"]
    settings.TTS_CLONE_ENGINE = "spark"
    settings.TTS_ENGINE_OPTIONS = {**settings.TTS_ENGINE_OPTIONS, "spark": {
        **settings.TTS_LLM_OPTIONS, "model_path": spark_release, "llm_device": "cpu"}}
    sync_builtin_voices({"spark": services.load_engine("spark")})
    services.latent_cache.clear()
    yield
    registry._instances.pop("spark", None)


def check_audio(data, fmt="wav", rate=16000):
    samples, got = decode(data, fmt, rate)
    assert got == rate and len(samples) >= TOKEN
    return samples


def reference_b64(**kw):
    return base64.b64encode(tone_wav(seconds=2.0, **kw)).decode()


def test_flash_tts_clone_voice_streams_spark_audio(client, spark_voices):
    response = client.post("/clone_voice", {"text": "Hello there. How are you?", "response_format": "wav",
                                            "stream": "true", "reference_audio": reference_b64(), "seed": 4})
    assert response.status_code == 200
    parts = chunks_of(response)
    assert len(parts) > 2
    check_audio(b"".join(parts))


def test_openai_voice_with_reference_audio_and_a_preset_voice(client, spark_voices):
    cloned = client.post("/v1/audio/speech", {"model": "tts-1", "input": "Good morning.", "response_format": "flac",
                                              "voice": reference_b64(), "seed": 2}, content_type="application/json")
    assert cloned.status_code == 200, cloned.content[:200]
    check_audio(body_of(cloned), "flac")
    preset = client.post("/v1/audio/speech", {"model": "tts-1", "input": "Good morning.", "voice": "male",
                                              "response_format": "mp3"}, content_type="application/json")
    assert preset.status_code == 200
    check_audio(body_of(preset), "mp3")


def test_fish_inline_references_with_a_seed_are_repeatable(client, spark_voices):
    body = {"text": "Repeat after me.", "format": "wav", "seed": 5, "temperature": 0.9, "top_p": 0.9,
            "references": [{"audio": tone_wav(seconds=2.0, freq=250.0), "text": "a reference"}]}
    first = body_of(client.post("/v1/tts", ormsgpack.packb(body), content_type="application/msgpack"))
    second = body_of(client.post("/v1/tts", ormsgpack.packb(body), content_type="application/msgpack"))
    assert first == second
    check_audio(first)


def test_lighttts_zero_shot_speaks_through_spark(client, spark_voices):
    response = client.post("/inference_zero_shot", {
        "tts_text": "one two three", "prompt_text": "a reference", "tts_model_name": "spark",
        "prompt_wav": SimpleUploadedFile("r.wav", tone_wav(seconds=2.0), content_type="audio/wav")})
    assert response.status_code == 200
    samples = np.frombuffer(body_of(response), dtype="<i2")
    assert len(samples) >= TOKEN


def test_a_saved_speaker_stores_its_spark_latent_and_speaks_from_it(client, spark_voices):
    from voices.models import Voice

    response = client.post("/add_speaker", {"name": "sparky", "audio_file": SimpleUploadedFile(
        "r.wav", tone_wav(seconds=2.0, freq=300.0))})
    assert response.status_code in (200, 201), response.content[:200]
    voice = Voice.objects.get(name="sparky")
    assert voice.engine == "spark" and voice.latent
    spoken = client.post("/speak", {"name": "sparky", "text": "Speaking from the stored tokens.",
                                    "response_format": "wav", "seed": 1}, content_type="application/json")
    assert spoken.status_code == 200
    check_audio(body_of(spoken))


def test_the_serve_command_serves_spark_when_the_model_path_is_a_spark_release(spark_release, db, settings):
    from unittest import mock

    from django.core.management import call_command

    from synthesis.management.commands.serve import Command
    from voices.models import Voice

    registry._instances.pop("spark", None)
    settings.TTS_ENGINE_OPTIONS = {k: dict(v) for k, v in settings.TTS_ENGINE_OPTIONS.items()}
    settings.TTS_LLM_OPTIONS = dict(settings.TTS_LLM_OPTIONS)
    with mock.patch.object(Command, "_serve", autospec=True), mock.patch.dict("os.environ"), \
            mock.patch("tasks.services.start_sweeper"):
        call_command("serve", "--skip-migrate", "--backend", "torch", "--model_path", spark_release,
                     "--llm_device", "cpu", "--tokenizer_device", "cpu", "--detokenizer_device", "cpu",
                     "--batch_size", "2")
        engine = registry.loaded_engines()["spark"]
        assert settings.TTS_ENGINES == ["spark"] and engine.config.batch_size == 2
        assert Voice.objects.filter(engine="spark", name="female").exists()
        import os

        assert os.environ["SPARK_MODEL_PATH"] == spark_release
    registry._instances.pop("spark", None)


def test_the_seeds_attention_flags_reach_wav2vec2_and_the_language_model(spark_release):
    engine = make_engine(spark_release, wav2vec_attn_implementation="eager", llm_attn_implementation="eager")
    assert engine.reference_tokenizer.wav2vec2.config._attn_implementation == "eager"
    assert engine.backend.model.config._attn_implementation == "eager"
