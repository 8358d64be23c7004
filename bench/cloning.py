"""Cloning benchmark: speaker similarity and intelligibility of timbre-matched speech.

References come from voices of several languages and genders: a reference voice says one
sentence in its language; the target engine then says other sentences in that language plainly
(the language's default voice, what a client gets without a reference) and cloned from the
reference. Kokoro never uses the reference's own voicepack (leave-one-out), so a match has to be
earned among the other 53. Similarity is resemblyzer's cosine (the torch original when installed,
else the project's numpy port of the same weights); intelligibility is Whisper base's WER (CER
for Mandarin and Japanese) on the same sentences, plain vs cloned.

    ./scripts/bench cloning
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import error_rate_of, median, metric, setup_django, transcribe, whisper_model

REFERENCE_TEXT = {
    "en": ("Good morning everyone, and welcome to the weekly meeting. Today we will talk about "
           "the budget, the new office, and the plans for the summer."),
    "zh": "大家早上好，欢迎参加每周例会。今天我们要讨论预算、新办公室，还有夏天的计划。",
    "ja": "皆さん、おはようございます。今日は予算と新しい事務所、そして夏の計画について話します。",
    "es": "Buenos días a todos y bienvenidos a la reunión semanal. Hoy hablaremos del presupuesto y de la nueva oficina.",
    "hi": "सभी को सुप्रभात और साप्ताहिक बैठक में आपका स्वागत है। आज हम बजट और नए दफ्तर के बारे में बात करेंगे।",
}
TARGET_TEXTS = {
    "en": ["The weather will be sunny tomorrow, with a light breeze in the afternoon.",
           "Please remember to bring your notebook and a pen to the next class."],
    "zh": ["明天天气晴朗，下午会有一点微风。", "下次上课请记得带上你的笔记本和笔。"],
    "ja": ["明日は晴れで、午後は少し風が吹くでしょう。", "次の授業にはノートとペンを持ってきてください。"],
    "es": ["Mañana hará sol, con una ligera brisa por la tarde.", "Recuerda traer tu cuaderno y un bolígrafo a la próxima clase."],
    "hi": ["कल मौसम साफ रहेगा और दोपहर में हल्की हवा चलेगी।", "अगली कक्षा में अपनी कॉपी और पेन लाना मत भूलना।"],
}
REFERENCES = [  # (engine, voice, language): none of them is its language's default voice
    ("kokoro", "af_bella", "en"), ("kokoro", "am_fenrir", "en"), ("kokoro", "bf_isabella", "en"),
    ("kokoro", "bm_george", "en"), ("piper", "joe", "en"),
    ("kokoro", "zf_xiaoni", "zh"), ("kokoro", "zm_yunjian", "zh"),
    ("kokoro", "jf_nezumi", "ja"), ("kokoro", "em_alex", "es"), ("kokoro", "hm_psi", "hi"),
]
# the language's default voice; the clone as served (the matched base voice blend); the clone with WORLD
# timbre conversion toward the reference on top (what TTS_CLONE_TIMBRE_CONVERSION=on adds)
KINDS = ("plain", "cloned", "+conversion")
PLAIN = {"en": "af_heart", "zh": "zf_xiaobei", "ja": "jf_alpha", "es": "ef_dora", "hi": "hf_alpha"}


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
    from synthesis.speaker import timbre
    from synthesis.speaker.latent import SpeakerLatent

    cache = Path(tempfile.mkdtemp(prefix="tts-clone-bench-"))
    name, embed = scorer(cache)
    print(f"similarity: {name}; target engine kokoro; plain = the language's default voice")
    engines = {n: services.load_engine(n) for n in ("piper", "kokoro")}
    target = engines["kokoro"]
    gains, prep_times, added = [], [], []
    said = {kind: {} for kind in KINDS}
    print(f"{'reference':18} {'lang':4} {'base voice(s)':28} {'plain':>6} {'cloned':>6} {'+conv':>7} "
          f"{'gain':>6} {'gain+c':>6}")
    for ref_engine, ref_voice, language in REFERENCES:
        source = engines[ref_engine]
        reference = source.synthesize(REFERENCE_TEXT[language], ref_voice, language=language)
        reference_embedding = embed(reference, source.sample_rate)
        start = time.perf_counter()
        latent = SpeakerLatent.from_bytes(target.prepare_reference(reference, source.sample_rate))
        prep_times.append(time.perf_counter() - start)
        exclude = (ref_voice,) if ref_engine == "kokoro" else ()
        base, source = target.clone_base(latent, exclude, language)  # profiles measured outside the timed part
        sims = {kind: [] for kind in KINDS}
        for text in TARGET_TEXTS[language]:
            t0 = time.perf_counter()
            audio = {"plain": target.synthesize(text, PLAIN[language], language=language)}
            t1 = time.perf_counter()
            audio["cloned"] = target.synthesize_cloned(text, latent, exclude=exclude, language=language)
            t2 = time.perf_counter()
            audio["+conversion"] = timbre.convert(audio["cloned"], target.sample_rate, source, latent.timbre)
            added.append(((t2 - t1) - (t1 - t0)) / (len(audio["cloned"]) / target.sample_rate))
            for kind in KINDS:
                sims[kind].append(float(np.dot(reference_embedding, embed(audio[kind], target.sample_rate))))
                said[kind].setdefault(language, []).append((text, audio[kind]))
        p, c, w = (float(np.mean(sims[kind])) for kind in KINDS)
        gains.append((c - p, w - p))
        print(f"{ref_engine + ':' + ref_voice:18} {language:4} {base[:28]:28} {p:6.3f} {c:6.3f} {w:7.3f} "
              f"{c - p:+6.3f} {w - p:+6.3f}", flush=True)
    cloned_gain, converted_gain = np.mean(gains, axis=0)
    print(f"mean similarity gain over {len(REFERENCES)} references (target +0.15): cloned {cloned_gain:+.3f}, "
          f"with WORLD conversion {converted_gain:+.3f}")
    print(f"time to prepare a reference (~9 s of audio): median {median(prep_times) * 1000:.0f} ms")
    print(f"added synthesis time per second of audio: median {median(added) * 1000:.0f} ms")
    if args.skip_intelligibility:
        return
    model = whisper_model(cache)
    costs = []
    for language in TARGET_TEXTS:
        rates = {}
        for kind in KINDS:
            pairs = [(text, transcribe(model, audio, target.sample_rate, language))
                     for text, audio in said[kind].get(language, [])]
            rates[kind] = error_rate_of(pairs, language) * 100 if pairs else float("nan")
        costs.append((rates["cloned"] - rates["plain"], rates["+conversion"] - rates["plain"]))
        print(f"Whisper {metric(language)} {language}: plain {rates['plain']:.1f}%, cloned {rates['cloned']:.1f}%, "
              f"with WORLD conversion {rates['+conversion']:.1f}%")
    cloned_cost, converted_cost = np.mean(costs, axis=0)
    print(f"mean intelligibility cost (target at most +2 points): cloned {cloned_cost:+.1f}, "
          f"with WORLD conversion {converted_cost:+.1f}")


if __name__ == "__main__":
    main()
