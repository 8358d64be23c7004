"""Foundation benchmark: bare engine vs the served path, and intelligibility.

For each embedded engine and for short, medium and long English text, in one run:
  bare   - the engine called directly on the normalized text, sentence by sentence;
  served - a streaming /speak request over real HTTP to a live daphne server.
Time to first audio (bare: the first sentence), real-time factor, and served/bare
ratios, as medians over repeats measured side by side. Then Whisper (base, offline)
word error rate of each engine's served English, and character error rate of
kokoro's Mandarin.

    ./scripts/bench            (or: python -m bench.foundation --repeats 5)
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

from bench.common import (FRESH, error_rate, han_for_cer, median, setup_django, transcribe, whisper_model,
                          words_for_wer)

TEXTS = {
    "short": "Hello there! This is a short test of the speech server.",
    "medium": ("The library opens at nine in the morning and closes at six in the evening. "
               "Visitors can borrow up to five books at a time, and renewals are free. "
               "Please keep your voice down in the reading rooms, and enjoy your visit."),
    "long": ("When the quiet evening settled over the harbor, the fishermen pulled their boats onto the sand. "
             "They began to mend their nets by lantern light, talking about the weather and the catch. "
             "Children ran between the hulls, laughing, while their parents called them home for supper. "
             "Somewhere a radio played an old song, and the smell of salt and smoke drifted up the hill. "
             "In the town, the shops were closing one by one, their shutters rattling down. "
             "The baker counted the last loaves and set them aside for the morning. "
             "An old dog lay in the doorway of the tavern, watching the street with half-closed eyes. "
             "By nine o'clock the square was empty, and only the church bell broke the silence. "
             "The sea went on whispering against the breakwater, as it had done for a thousand years."),
}
ENGLISH_CHECK = [
    "The weather today is sunny with a light breeze from the west.",
    "It costs $1,250.50, up 3.5% since 2025-03-05.",
    "The meeting starts at 10:30 and ends at 12:15.",
    "She ran 5km in 24 minutes on the 3rd of May.",
    "Call 555-123-4567 if the temperature drops below -5 degrees.",
    "Dr. Smith bought 12 apples and 2.5 kg of rice.",
]
MANDARIN_CHECK = [
    "今天天气很好，我们一起去公园散步吧。",
    "会议在2025年3月5日上午10:30开始。",
    "这件衣服的价格是￥120，比上个月便宜了3.5%。",
    "请翻到第3章，我们继续学习。",
]
VOICES = {"piper": "joe", "kokoro": "jf_alpha"}


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def bare_run(engine, voice: str, text: str) -> tuple[float, float]:
    """(seconds to the first sentence's audio, real-time factor of the whole text)."""
    from synthesis.text import normalize

    start = time.perf_counter()
    first = None
    samples = 0
    for sentence in sentences(text):
        audio = engine.synthesize(normalize(sentence), voice)
        samples += len(audio)
        if first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    return first, total / (samples / engine.sample_rate)


def served_run(url: str, voice: str, text: str, rate: int) -> tuple[float, float]:
    """(seconds to the first audio bytes, real-time factor) of a streaming /speak request."""
    start = time.perf_counter()
    first = None
    size = 0
    with requests.post(f"{url}/speak", json={"name": voice, "text": text, "stream": True,
                                             "response_format": "pcm"}, headers=FRESH, stream=True, timeout=300) as r:
        r.raise_for_status()
        for chunk in r.iter_content(chunk_size=None):
            if chunk and first is None:
                first = time.perf_counter() - start
            size += len(chunk)
    total = time.perf_counter() - start
    return first, total / (size / 2 / rate)


def speak_pcm(url: str, voice: str, text: str) -> np.ndarray:
    r = requests.post(f"{url}/speak", json={"name": voice, "text": text, "response_format": "pcm"}, timeout=300)
    r.raise_for_status()
    return np.frombuffer(r.content, dtype="<i2").astype(np.float32) / 32768.0


def latency_table(url: str, repeats: int) -> None:
    from synthesis import services

    print(f"\n== bare engine vs served (streaming /speak over HTTP), medians of {repeats} ==")
    print(f"{'engine':8} {'text':7} {'bare ttfa':>10} {'served ttfa':>12} {'ratio':>6} "
          f"{'bare rtf':>9} {'served rtf':>11} {'ratio':>6}")
    for name, voice in VOICES.items():
        engine = services.load_engine(name)
        engine.synthesize("Warm up.", voice)
        requests.post(f"{url}/speak", json={"name": voice, "text": "Warm up.", "response_format": "pcm"})
        for label, text in TEXTS.items():
            bare, served = [], []
            for _ in range(repeats):  # side by side: one bare run, then one served run
                bare.append(bare_run(engine, voice, text))
                served.append(served_run(url, voice, text, engine.sample_rate))
            b_ttfa, b_rtf = median([b[0] for b in bare]), median([b[1] for b in bare])
            s_ttfa, s_rtf = median([s[0] for s in served]), median([s[1] for s in served])
            print(f"{name:8} {label:7} {b_ttfa * 1000:8.0f}ms {s_ttfa * 1000:10.0f}ms {s_ttfa / b_ttfa:6.2f} "
                  f"{b_rtf:9.3f} {s_rtf:11.3f} {s_rtf / b_rtf:6.2f}")


def intelligibility(url: str, cache: Path) -> None:
    from synthesis import services

    model = whisper_model(cache)
    print("\n== intelligibility (faster-whisper base, offline) ==")
    for name, voice in VOICES.items():
        rate = services.load_engine(name).sample_rate
        refs, hyps = [], []
        for text in ENGLISH_CHECK:
            heard = transcribe(model, speak_pcm(url, voice, text), rate, "en")
            refs.append(words_for_wer(text))
            hyps.append(words_for_wer(heard))
            print(f"  {name:7} said: {text}\n  {'':7} heard: {heard}")
        print(f"{name}: English WER {error_rate(refs, hyps) * 100:.1f}% over {len(refs)} sentences")
    refs, hyps = [], []
    for text in MANDARIN_CHECK:
        heard = transcribe(model, speak_pcm(url, "jm_kumo", text), 24000, "zh")
        refs.append(han_for_cer(text))
        hyps.append(han_for_cer(heard))
        print(f"  kokoro  said: {text}\n  {'':7} heard: {heard}")
    print(f"kokoro: Mandarin CER {error_rate(refs, hyps, chars=True) * 100:.1f}% over {len(refs)} sentences")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-intelligibility", action="store_true")
    args = parser.parse_args()
    setup_django()
    from tests.liveserver import LiveServer

    workdir = Path(tempfile.mkdtemp(prefix="tts-bench-"))
    server = LiveServer(workdir, env={"TTS_ENGINES": "piper,kokoro"}).wait_ready()
    try:
        latency_table(server.url, args.repeats)
        if not args.skip_intelligibility:
            intelligibility(server.url, workdir)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
