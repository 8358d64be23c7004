"""Cloning benchmark: speaker similarity and intelligibility of timbre-matched speech.

Pairs are built from the engines' own voices: a reference voice says one sentence; the target
engine says other sentences plainly (its default voice) and matched to the reference. Kokoro
targets never use the reference's own voicepack (leave-one-out), so a match has to be earned.
Similarity is resemblyzer's cosine (the torch original when installed, else the project's numpy
port of the same weights); intelligibility is Whisper base word error rate.

    ./scripts/bench cloning
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import error_rate, median, setup_django, transcribe, whisper_model, words_for_wer

REFERENCE_TEXT = ("Good morning everyone, and welcome to the weekly meeting. Today we will talk about "
                  "the budget, the new office, and the plans for the summer.")
TARGET_TEXTS = ["The weather will be sunny tomorrow, with a light breeze in the afternoon.",
                "Please remember to bring your notebook and a pen to the next class."]
PAIRS = [  # (reference engine, reference voice, target engine, plain voice)
    ("kokoro", "jm_kumo", "kokoro", "jf_alpha"),
    ("kokoro", "jf_nezumi", "kokoro", "jf_alpha"),
    ("kokoro", "jf_gongitsune", "kokoro", "jf_alpha"),
    ("kokoro", "jf_tebukuro", "kokoro", "jf_alpha"),
    ("piper", "joe", "kokoro", "jf_alpha"),
    ("kokoro", "jm_kumo", "piper", "joe"),
    ("kokoro", "jf_alpha", "piper", "joe"),
    ("kokoro", "jf_nezumi", "piper", "joe"),
]


def scorer(cache: Path):
    """embed(samples, rate) with resemblyzer: the torch original if importable, else the numpy port."""
    try:
        from resemblyzer import VoiceEncoder, preprocess_wav

        from synthesis.audio.effects import resample

        original = VoiceEncoder("cpu", verbose=False)
        return "resemblyzer (torch)", lambda x, r: original.embed_utterance(preprocess_wav(resample(x, r, 16000)))
    except ImportError:
        from synthesis.speaker import encoder

        port = encoder.get_encoder(cache)
        return "resemblyzer weights (numpy port)", port.embed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-intelligibility", action="store_true")
    args = parser.parse_args()
    setup_django()
    from synthesis import services
    from synthesis.speaker.latent import SpeakerLatent

    cache = Path(tempfile.mkdtemp(prefix="tts-clone-bench-"))
    name, embed = scorer(cache)
    print(f"similarity: {name}")
    engines = {n: services.load_engine(n) for n in ("piper", "kokoro")}
    gains, prep_times, added, plain_said, matched_said = [], [], [], [], []
    print(f"{'reference':18} {'target':8} {'plain':>6} {'matched':>8} {'gain':>6}")
    for ref_engine, ref_voice, target_name, plain_voice in PAIRS:
        source = engines[ref_engine]
        reference = source.synthesize(REFERENCE_TEXT, ref_voice)
        target_ref = embed(reference, source.sample_rate)
        target = engines[target_name]
        start = time.perf_counter()
        latent = SpeakerLatent.from_bytes(target.prepare_reference(reference, source.sample_rate))
        prep_times.append(time.perf_counter() - start)
        exclude = (ref_voice,) if target_name == ref_engine else ()
        target.clone_base(latent, exclude)  # measure profiles outside the timed part
        plain_sims, matched_sims = [], []
        for text in TARGET_TEXTS:
            t0 = time.perf_counter()
            plain = target.synthesize(text, plain_voice)
            t1 = time.perf_counter()
            matched = target.synthesize_cloned(text, latent, exclude=exclude)
            t2 = time.perf_counter()
            added.append(((t2 - t1) - (t1 - t0)) / (len(matched) / target.sample_rate))
            plain_sims.append(float(np.dot(target_ref, embed(plain, target.sample_rate))))
            matched_sims.append(float(np.dot(target_ref, embed(matched, target.sample_rate))))
            plain_said.append((text, plain, target.sample_rate))
            matched_said.append((text, matched, target.sample_rate))
        p, m = float(np.mean(plain_sims)), float(np.mean(matched_sims))
        gains.append(m - p)
        print(f"{ref_engine + ':' + ref_voice:18} {target_name:8} {p:6.3f} {m:8.3f} {m - p:+6.3f}")
    print(f"mean similarity gain: {np.mean(gains):+.3f} over {len(PAIRS)} pairs (target +0.10)")
    print(f"time to prepare a reference (~9 s of audio): median {median(prep_times) * 1000:.0f} ms")
    print(f"added synthesis time per second of audio: median {median(added) * 1000:.0f} ms")
    if args.skip_intelligibility:
        return
    model = whisper_model(cache)

    def wer(said):
        refs = [words_for_wer(text) for text, _, _ in said]
        hyps = [words_for_wer(transcribe(model, audio, rate, "en")) for _, audio, rate in said]
        return error_rate(refs, hyps) * 100

    plain_wer, matched_wer = wer(plain_said), wer(matched_said)
    print(f"Whisper WER: plain {plain_wer:.1f}%, matched {matched_wer:.1f}% "
          f"(difference {matched_wer - plain_wer:+.1f} points; target at most +2)")


if __name__ == "__main__":
    main()
