"""Spark-TTS benchmark: cloning, streamed BiCodec decode and batching on CPU.

A random release in the real layout (tests/llm_checkpoints.py, with a 4-layer, 256-wide
Qwen2) runs through the real engine code; the end markers are switched off so every run
generates exactly the tokens asked for. Absolute speeds say nothing about the 0.5B model on a
GPU; the ratios, measured side by side in one run (medians over repeats), say what the
reference analysis, streaming and batching cost or save.

    ./scripts/bench spark [--repeats 5] [--tokens 250]
"""
from __future__ import annotations

import argparse
import base64
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.common import median
from bench.llm import first_and_total, throughput


def build_engine(folder: Path, **extra):
    from synthesis.engines.base import EngineOptions
    from tests import llm_checkpoints as tiny
    from synthesis.engines.llm.spark import SparkEngine

    if not folder.exists():
        tiny.make_spark(folder, hidden=256, layers=4)
    engine = SparkEngine(EngineOptions(model_path=str(folder), extra={"llm_device": "cpu", **extra}))
    engine.load()
    engine.semantic_constraint = replace(engine.semantic_constraint, end_ids=())  # never stop early
    return engine


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def clones_per_second(engine, latent: str, requests: int, tokens: int, together: bool) -> float:
    """Semantic tokens per second of whole cloned requests (generated and decoded)."""
    from synthesis.engines.base import SamplingParams

    def one(i):
        audio = engine.synthesize(f"Request {i}.", "", latent=latent, sampling=SamplingParams(seed=i, max_tokens=tokens))
        return len(audio) // engine.codec.samples_per_token

    return throughput(one, requests, together)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=250, help="semantic tokens per request (50 per second)")
    parser.add_argument("--requests", type=int, default=8)
    args = parser.parse_args()
    from synthesis.engines.base import SamplingParams

    folder = Path(tempfile.mkdtemp(prefix="tts-spark-bench-")) / "release"
    engine = build_engine(folder)
    seconds = args.tokens / 50
    print(f"segment: {args.tokens} semantic tokens = {seconds:.2f} s of audio; {args.repeats} repeats, medians\n")

    rng = np.random.default_rng(0)
    reference = (0.3 * np.sin(np.arange(6 * 16000) * 2 * np.pi * 160 / 16000) + 0.01 * rng.standard_normal(96000))
    reference = reference.astype(np.float32)
    analysis = timed(lambda: engine.prepare_reference(reference, 16000), args.repeats)
    latent = base64.b64encode(engine.prepare_reference(reference, 16000)).decode()
    sampling = SamplingParams(seed=1, max_tokens=args.tokens)
    text = "A short sentence."
    first_and_total(engine.stream(text, "", latent=latent, sampling=sampling))  # warm up
    streamed = [first_and_total(engine.stream(text, "", latent=latent, sampling=sampling))
                for _ in range(args.repeats)]
    first, total = median([s[0] for s in streamed]), median([s[1] for s in streamed])
    print("== cloning and streaming (torch backend, one request) ==")
    print(f"reference analysis (6 s, wav2vec2 + BiCodec): {analysis * 1000:.0f} ms, once per recording = "
          f"{analysis / total:.2f} of one segment's generation; saved voices skip it")
    print(f"first audio {first * 1000:.0f} ms, whole segment {total * 1000:.0f} ms: first audio after "
          f"{first / total:.2f} of the generation time (RTF {total / seconds:.2f})")

    codes = [int(c) for c in rng.integers(0, engine.codec.semantic_codebook_size, args.tokens)]
    globals_ = engine.latent_globals(latent)

    def windowed():
        decoder = engine.codec.stream(globals_)
        for code in codes:
            decoder.push(code)
        decoder.flush()

    whole = timed(lambda: engine.codec.decode(codes, globals_), args.repeats)
    pieces = timed(windowed, args.repeats)
    print(f"BiCodec decode of the segment: whole {whole * 1000:.0f} ms, in streaming windows {pieces * 1000:.0f} ms "
          f"({pieces / whole:.2f}x: the cost of the overlapping context)\n")

    batched = build_engine(folder, llm_batch_size=args.requests, batch_size=args.requests, wait_timeout=0.05)
    print(f"== batching: {args.requests} cloned requests of {args.tokens} tokens, audio tokens per second ==")
    seq = [clones_per_second(engine, latent, args.requests, args.tokens, together=False) for _ in range(args.repeats)]
    par = [clones_per_second(batched, latent, args.requests, args.tokens, together=True) for _ in range(args.repeats)]
    print(f"one at a time {median(seq):.0f} tok/s; concurrent, LM and BiCodec batched by {args.requests}: "
          f"{median(par):.0f} tok/s ({median(par) / median(seq):.2f}x)")


if __name__ == "__main__":
    main()
