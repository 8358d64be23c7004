"""Normalization entry point: each sentence is read in the language it is written in."""
from __future__ import annotations

import re
from functools import lru_cache

from . import en, hi, ja, romance, zh
from .language import HAN_CHAR, detect
from .sentences import split_sentences


def is_mandarin(text: str) -> bool:
    return bool(HAN_CHAR.search(text))


def normalize_sentence(text: str, language: str) -> str:
    """One sentence in `language` (a base code) with numbers, money, dates and symbols spelled out."""
    if language == "ja":
        return ja.normalize(text)
    if language == "zh" or is_mandarin(text):  # digits among Han characters are read in Mandarin
        return zh.normalize(text)
    if language in romance.WORDS:
        return romance.normalize(text, language)
    if language == "hi":
        return hi.normalize(text)
    return en.normalize(text)


@lru_cache(maxsize=256)
def normalize(text: str, language: str = "") -> str:
    """Spell out numbers, symbols and abbreviations so every engine reads them right.

    Each sentence is normalized in its own language (detected, with `language` deciding what
    detection cannot, e.g. a sentence of digits only). Remembered for the last texts: a request is
    normalized for its cache key and again when it is planned.
    """
    # Normalization never moves text across a sentence end.
    out = [normalize_sentence(piece, detect(piece, language)) for piece in split_sentences(text)[0]]
    return re.sub(r"[ \t]+", " ", "".join(out)).strip()
