"""Spark-TTS on the vllm backend, wherever vllm imports (vLLM's CPU build here): the semantic
constraint and the preset voices' global-token phase run inside vLLM's sampler."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from synthesis.engines.base import SamplingParams
from tests.test_llm_spark import TOKEN, latent_of, make_engine
from tests.audio import tone_wav

pytest.importorskip("vllm")


@pytest.fixture(scope="module")
def vllm_spark(spark_release):
    engine = make_engine(spark_release, backend="vllm", max_length=1024, llm_gpu_memory_utilization=0.1,
                         enforce_eager=True, llm_batch_size=8)
    yield engine
    engine.backend.shutdown()


def test_vllm_clones_with_only_semantic_tokens_for_concurrent_requests(vllm_spark):
    latent = latent_of(vllm_spark, tone_wav(seconds=2.0))

    def tokens(seed):
        generation = vllm_spark.backend.submit(vllm_spark.generation(
            f"Request number {seed}.", "", latent=latent,
            sampling=SamplingParams(seed=seed, temperature=1.5, top_p=1.0, top_k=0, max_tokens=100)))
        list(generation)
        return generation.tokens

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(tokens, range(4)))
    assert all(results)
    base = vllm_spark.semantic_base
    assert all(base <= t < base + 512 for generated in results for t in generated)


def test_vllm_makes_preset_global_tokens_and_speaks_in_one_pass(vllm_spark):
    audio = vllm_spark.synthesize("Hello from vLLM.", "male-low", sampling=SamplingParams(seed=1, max_tokens=50))
    assert 0 < len(audio) <= 50 * TOKEN and len(audio) % TOKEN == 0 and np.isfinite(audio).all()
    globals_ = vllm_spark.preset_globals("male-low")  # the lead of the constraint ran inside vLLM's sampler
    assert len(globals_) == 32 and all(0 <= t < 64 for t in globals_)
