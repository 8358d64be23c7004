"""The LLM engine family on CPU: tiny random Orpheus + SNAC checkpoints, loaded by the real code.

The checkpoints are written once per session (tests/llm_checkpoints.py) in the layouts a
user's downloaded weights have, and loaded through --model_path / --snac_path, the registry and
the serve command. Random weights speak noise, so the tests check what the machinery owes:
decodable audio at 24 kHz whose length matches the generated frames, constraint-valid tokens,
streaming, seeds, batching.
"""
import asyncio
import json
import threading

import numpy as np
import ormsgpack
import pytest

from synthesis import services
from synthesis.engines import registry
from synthesis.engines.base import EngineError, EngineOptions, SamplingParams
from synthesis.engines.llm.generation import FrameConstraint, Generation, Sampling, sample_next
from synthesis.engines.llm.orpheus import OrpheusEngine
from tests.audio import body_of, chunks_of, decode

torch = pytest.importorskip("torch")  # requirements-llm.txt; the test command installs it

FRAME = 2048  # samples per SNAC frame at 24 kHz


def make_engine(checkpoints, **extra) -> OrpheusEngine:
    engine = OrpheusEngine(EngineOptions(model_path=checkpoints["model_path"],
                                         extra={"snac_path": checkpoints["snac_path"], **extra}))
    engine.load()
    return engine


@pytest.fixture(scope="session")
def engine(checkpoints):
    return make_engine(checkpoints)


@pytest.fixture
def orpheus_voices(db, settings, checkpoints):
    """Orpheus enabled in the service (its catalog voices registered) next to the fake engine."""
    from voices.services import sync_builtin_voices

    settings.TTS_ENGINES = ["fake", "orpheus"]
    settings.TTS_ENGINE_OPTIONS = {**settings.TTS_ENGINE_OPTIONS,
                                   "orpheus": {**settings.TTS_LLM_OPTIONS, **checkpoints}}
    sync_builtin_voices({"orpheus": services.load_engine("orpheus")})
    yield
    registry._instances.pop("orpheus", None)


def run(engine, text="Hello there, friends.", **sampling) -> Generation:
    generation = engine.backend.submit(engine.generation(text, "tara", SamplingParams(**sampling)))
    list(generation)
    return generation


# loading ------------------------------------------------------------------------------------
def test_the_engine_loads_local_checkpoints_and_lists_orpheus_voices(engine):
    assert engine.sample_rate == 24000 and engine.codec.frame_samples == FRAME
    assert {"tara", "leo", "zoe"} <= {v.id for v in engine.voices()}
    prompt = engine.prompt("Hi.", "tara")
    assert prompt[0] == engine.ids[3] and prompt[-4:] == [engine.ids[k] for k in ("<|eot_id|>", 4, 5, 1)]


def test_a_missing_or_foreign_checkpoint_is_refused_with_a_reason(checkpoints, tmp_path):
    with pytest.raises(EngineError, match="model_path"):
        make_engine({**checkpoints, "model_path": str(tmp_path / "none")})
    with pytest.raises(EngineError, match="SNAC path"):
        make_engine({**checkpoints, "snac_path": str(tmp_path)})
    with pytest.raises(EngineError, match="backend 'sglang'"):
        make_engine(checkpoints, backend="sglang")
    with pytest.raises(EngineError, match="no CUDA"):
        make_engine(checkpoints, llm_device="cuda")


def test_voices_json_in_the_model_directory_replaces_the_presets(checkpoints, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(checkpoints["model_path"], model)
    (model / "voices.json").write_text(json.dumps(["pierre", {"id": "amelie", "language": "fr"}]))
    engine = make_engine({**checkpoints, "model_path": str(model)})
    assert [(v.id, v.language) for v in engine.voices()] == [("pierre", "en"), ("amelie", "fr")]


# generation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_constrained_sampling_only_emits_the_audio_tokens_valid_at_each_position(engine, seed):
    # Random weights may stop at once, which would check nothing: without end or stop ids the
    # generation must run to its budget, so every position of several frames is checked.
    import dataclasses
    constraint = dataclasses.replace(engine.constraint, end_ids=())
    generation = engine.generation("Hello there, friends.", "tara",
                                   SamplingParams(seed=seed, temperature=1.5, top_p=1.0, max_tokens=70))
    generation.stop_ids, generation.constraint = (), constraint
    list(engine.backend.submit(generation))
    assert len(generation.tokens) == 70  # ten whole frames
    for position, token in enumerate(generation.tokens):
        lo, hi = constraint.window(position)
        assert lo <= token < hi


def test_the_stream_ends_only_at_a_frame_boundary():
    constraint = FrameConstraint(base=100, codebook_size=10, per_frame=7, end_ids=(5,))
    generation = Generation([1], Sampling(temperature=1.0), (5,), constraint)
    logits = torch.zeros(200)
    logits[5] = 50.0  # the model wants to stop at once, every time
    generator = torch.Generator().manual_seed(0)
    for position in range(14):
        token = sample_next(logits, generation, generator)
        if position % 7 == 0:
            assert token == 5
            generation.tokens.append(constraint.window(position)[0])  # pretend it went on
        else:
            assert constraint.window(position)[0] <= token < constraint.window(position)[1]
            generation.tokens.append(token)


def test_top_k_one_and_zero_temperature_are_greedy():
    logits = torch.tensor([0.1, 3.0, 2.9, -1.0])
    for sampling in (Sampling(temperature=0.0), Sampling(temperature=1.0, top_k=1)):
        picks = {sample_next(logits, Generation([1], sampling), torch.Generator().manual_seed(s)) for s in range(20)}
        assert picks == {1}


def test_top_p_keeps_only_the_nucleus_and_repetition_penalty_discourages_repeats():
    logits = torch.tensor([5.0, 4.0, 0.0, 0.0, 0.0])
    nucleus = Generation([1], Sampling(temperature=1.0, top_p=0.5))
    assert {sample_next(logits, nucleus, torch.Generator().manual_seed(s)) for s in range(50)} == {0}
    flat = torch.tensor([2.0, 2.0])
    repeated = Generation([1], Sampling(temperature=0.0, repetition_penalty=2.0), tokens=[0])
    assert sample_next(flat, repeated, torch.Generator()) == 1


def test_the_same_seed_gives_the_same_tokens_and_audio(engine):
    text = "Seeds make this repeatable."
    first = engine.synthesize(text, "tara", sampling=SamplingParams(seed=7))
    second = engine.synthesize(text, "tara", sampling=SamplingParams(seed=7))
    other = engine.synthesize(text, "tara", sampling=SamplingParams(seed=8))
    assert np.array_equal(first, second) and len(first) % FRAME == 0 and len(first) > 0
    assert not (len(first) == len(other) and np.array_equal(first, other))


def test_max_tokens_bounds_the_audio(engine):
    generation = run(engine, seed=3, max_tokens=30)  # rounded down to whole frames
    assert len(generation.tokens) <= 28


def test_batched_and_sequential_generation_give_the_same_tokens(checkpoints):
    engine = make_engine(checkpoints, llm_batch_size=4, wait_timeout=0.5)
    texts = ["Hello world.", "A much longer sentence to say here, my friends.", "Short.", "Numbers 42."]
    sequential = [run(engine, text, seed=i + 1, max_tokens=210).tokens for i, text in enumerate(texts)]
    generations = [engine.generation(text, "tara", SamplingParams(seed=i + 1, max_tokens=210))
                   for i, text in enumerate(texts)]
    for generation in generations:
        engine.backend.submit(generation)
    for generation in generations:
        list(generation)
    assert engine.backend.batches[:4] == [1, 1, 1, 1] and engine.backend.batches[4] == 4
    assert [g.tokens for g in generations] == sequential


@pytest.mark.parametrize("cache, attention", [("static", "sdpa"), ("offloaded", "eager"), ("dynamic", "sdpa")])
def test_the_seeds_cache_and_attention_flags_give_the_same_tokens(checkpoints, cache, attention):
    """--cache_implementation and --llm_attn_implementation (torch backend) change how, not what, is sampled."""
    def batched(engine):
        generations = [engine.generation(text, "tara", SamplingParams(seed=i + 1, max_tokens=140))
                       for i, text in enumerate(["Hello world.", "A much longer sentence to say here.", "Short."])]
        for generation in generations:
            engine.backend.submit(generation)
        return [list(generation) and generation.tokens for generation in generations]

    plain = make_engine(checkpoints, llm_batch_size=3, wait_timeout=0.5)
    flagged = make_engine(checkpoints, llm_batch_size=3, wait_timeout=0.5, cache_implementation=cache,
                          llm_attn_implementation=attention)
    assert flagged.backend.model.config._attn_implementation == attention
    assert batched(flagged) == batched(plain)
    assert type(flagged.backend.new_cache(16)).__name__ == ("StaticCache" if cache == "static" else "DynamicCache")


def test_an_unknown_cache_or_attention_is_refused(checkpoints):
    with pytest.raises(EngineError, match="cache_implementation"):
        make_engine(checkpoints, cache_implementation="paged")
    with pytest.raises(EngineError, match="llm_attn_implementation"):
        make_engine(checkpoints, llm_attn_implementation="magic")


def test_concurrent_streams_share_a_batch_and_each_decodes(checkpoints):
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(checkpoints, llm_batch_size=3, wait_timeout=0.5, batch_size=3)
    with ThreadPoolExecutor(3) as pool:
        audios = list(pool.map(lambda i: engine.synthesize(f"Request number {i}.", "leo",
                                                           sampling=SamplingParams(seed=i, max_tokens=140)),
                               range(3)))
    assert 3 in engine.backend.batches
    assert all(0 < len(a) <= 20 * FRAME and len(a) % FRAME == 0 for a in audios)


def test_every_request_of_a_batch_ends_when_an_earlier_row_finishes_first(checkpoints):
    """Rows of a dynamic cache are dropped as their requests end: the one that ends first (row 0)
    must not take a later request's row number with it (that request then never ended)."""
    import threading

    engine = make_engine(checkpoints, llm_batch_size=3, wait_timeout=5.0)
    generations = [engine.generation(f"Request number {i}.", "leo", SamplingParams(seed=i, max_tokens=budget))
                   for i, budget in enumerate((7, 70, 140))]
    for generation in generations:  # one batch: the batcher waits up to 5 s for three
        engine.backend.submit(generation)
    ended = threading.Event()
    threading.Thread(target=lambda: ([list(g) for g in generations], ended.set()), daemon=True).start()
    assert ended.wait(120), "a request of the batch never ended"
    assert 3 in engine.backend.batches
    assert [len(g.tokens) <= budget for g, budget in zip(generations, (7, 70, 140))] == [True] * 3
    assert len(generations[0].tokens) < len(generations[2].tokens)  # the first did end first


def test_audio_streams_while_tokens_are_still_being_generated(engine):
    generation = engine.generation("A sentence long enough to stream.", "tara", SamplingParams(seed=5, max_tokens=700))
    generation.sampling = Sampling(**{**generation.sampling.__dict__, "repetition_penalty": 1.0})
    # On a busy machine the generator can outrun the reader and finish first however early the
    # first piece could be decoded. Holding it after seven frames until the first piece is decoded
    # makes "decoded before generation ended" a question of order (the first piece needs five).
    first_piece, emit = threading.Event(), generation.emit

    def emit_after_the_first_piece(token):
        if len(generation.tokens) == 7 * 7:
            first_piece.wait(120)
        emit(token)
    generation.emit = emit_after_the_first_piece
    engine.backend.submit(generation)
    decoder = engine.codec.stream(5)
    pieces, tokens_at_first_piece = [], None
    for frame in engine.frames(generation):
        for piece in decoder.push(frame):
            if tokens_at_first_piece is None:
                tokens_at_first_piece = len(generation.tokens)
                first_piece.set()
            pieces.append(piece)
    pieces += decoder.flush()
    assert len(pieces) > 2 and len(pieces[0]) == 2 * FRAME  # the first piece: two frames
    assert tokens_at_first_piece <= 7 * 7 < len(generation.tokens)  # ... decoded before generation ended
    assert sum(map(len, pieces)) == len(generation.tokens) // 7 * FRAME


def test_windowed_decoding_matches_decoding_all_frames_at_once(checkpoints):
    from snac import SNAC

    from synthesis.engines.llm.snac_codec import SnacCodec

    config = json.loads(open(f"{checkpoints['snac_path']}/config.json").read())
    torch.manual_seed(0)
    codec = SnacCodec(SNAC(**{**config, "noise": False}).eval(), "cpu")  # noise off: comparable
    frames = [list(np.random.default_rng(i).integers(0, 64, 7)) for i in range(30)]
    decoder, pieces = codec.stream(), []
    for frame in frames:
        pieces += decoder.push(frame)
    pieces += decoder.flush()
    whole, windowed = codec.decode(frames), np.concatenate(pieces)
    assert len(windowed) == len(whole) == 30 * FRAME
    # 3 frames of context cover the decoder's reach: the joins are exact to float rounding
    print("largest difference / peak:", np.max(np.abs(whole - windowed)) / np.max(np.abs(whole)))
    assert np.max(np.abs(whole - windowed)) < 1e-5 * np.max(np.abs(whole))


# through the service --------------------------------------------------------------------------
def check_audio(data, fmt, rate=24000):
    samples, got = decode(data, fmt, rate)
    assert got == rate and len(samples) > FRAME // 2
    return samples


def test_flash_tts_speak_streams_orpheus_audio(client, orpheus_voices):
    response = client.post("/speak", {"name": "tara", "text": "Hello there. How are you today?",
                                      "response_format": "wav", "stream": True, "seed": 1},
                           content_type="application/json")
    assert response.status_code == 200
    parts = chunks_of(response)
    assert len(parts) > 2  # pieces of each sentence leave as they are decoded (resampled as a stream)
    check_audio(b"".join(parts), "wav", rate=16000)  # Flash-TTS clients play streamed WAV at 16 kHz


@pytest.mark.parametrize("fmt", ["mp3", "opus", "flac", "aac"])
def test_openai_speech_in_every_format(client, orpheus_voices, fmt):
    response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "leo", "input": "Good morning.",
                                                "response_format": fmt}, content_type="application/json")
    assert response.status_code == 200, response.content[:200]
    check_audio(body_of(response), fmt, 48000 if fmt == "opus" else 24000)  # Opus decodes at 48 kHz


def test_fish_tts_with_sampling_controls_and_seed(client, orpheus_voices):
    body = {"text": "Repeat after me.", "format": "wav", "reference_id": "zoe", "seed": 11,
            "temperature": 0.9, "top_p": 0.9, "repetition_penalty": 1.2}
    first = body_of(client.post("/v1/tts", ormsgpack.packb(body), content_type="application/msgpack"))
    second = body_of(client.post("/v1/tts", ormsgpack.packb(body), content_type="application/msgpack"))
    assert first == second
    check_audio(first, "wav")
    hotter = body_of(client.post("/v1/tts", ormsgpack.packb({**body, "temperature": 0.3}),
                                 content_type="application/msgpack"))
    assert hotter != first


def test_session_stream_and_openspeech_websocket(client, orpheus_voices, transactional_db):
    response = client.post("/api/tts/stream", {"text": "One sentence. Then another.", "voice_type": "dan"},
                           content_type="application/json")
    assert response.status_code == 200
    check_audio(body_of(response), "mp3")

    from tests.test_openspeech_protocol import REQUEST, communicate
    from tests import openspeech_client

    request = json.loads(json.dumps(REQUEST))
    request["audio"]["voice_type"] = "mia"
    request["audio"]["encoding"] = "wav"
    request["request"]["operation"] = "query"
    _, _, replies = asyncio.run(communicate([openspeech_client.build_client_frame(request)]))
    assert replies[-1][0] == "audio"
    check_audio(replies[-1][2], "wav")


def test_lighttts_zero_shot_with_orpheus_is_refused_clearly(client, orpheus_voices):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.audio import tone_wav

    response = client.post("/inference_zero_shot", {
        "tts_text": "hello", "prompt_text": "hi", "tts_model_name": "orpheus",
        "prompt_wav": SimpleUploadedFile("r.wav", tone_wav(), content_type="audio/wav")})
    assert response.status_code == 400
    assert "cannot speak in a reference voice" in response.json()["detail"]


def test_the_serve_command_starts_orpheus_from_the_seed_flags(checkpoints, db, settings):
    from unittest import mock

    from django.core.management import call_command

    from synthesis.management.commands.serve import Command
    from voices.models import Voice

    registry._instances.pop("orpheus", None)
    settings.TTS_ENGINE_OPTIONS = {k: dict(v) for k, v in settings.TTS_ENGINE_OPTIONS.items()}
    settings.TTS_LLM_OPTIONS = dict(settings.TTS_LLM_OPTIONS)
    with mock.patch.object(Command, "_serve", autospec=True), mock.patch.dict("os.environ"), \
            mock.patch("tasks.services.start_sweeper"):
        call_command("serve", "--skip-migrate", "--backend", "torch", "--model_path", checkpoints["model_path"],
                     "--snac_path", checkpoints["snac_path"], "--llm_device", "cpu", "--detokenizer_device", "cpu",
                     "--torch_dtype", "float32", "--llm_batch_size", "4", "--max_length", "2048", "--seed", "9",
                     "--wav2vec_attn_implementation", "sdpa", "--llm_attn_implementation", "sdpa",
                     "--cache_implementation", "static")
        engine = registry.loaded_engines()["orpheus"]
        assert engine.config.llm_batch_size == 4 and engine.config.seed == 9 and engine.config.max_length == 2048
        assert engine.config.cache_implementation == "static" and engine.config.llm_attn_implementation == "sdpa"
        assert settings.TTS_WORKERS >= 4
        assert Voice.objects.filter(engine="orpheus", name="tara").exists()
        import os

        assert os.environ["TTS_LLM_BACKEND"] == "torch" and os.environ["ORPHEUS_MODEL_PATH"] == checkpoints["model_path"]
    registry._instances.pop("orpheus", None)
