"""Normalization entry point: each sentence is read as Mandarin if it holds Han characters."""
from __future__ import annotations

import re

from . import en, zh

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Sentence-sized pieces with their closing punctuation; normalization never moves text across them.
_BOUNDARY = re.compile(r"(?<=[。！？!?\n])|(?<=\.)(?=\s)")


def is_mandarin(text: str) -> bool:
    return bool(_HAN.search(text))


def normalize(text: str) -> str:
    """Spell out numbers, symbols and abbreviations so every engine reads them right."""
    out = []
    for piece in _BOUNDARY.split(text):
        if piece:
            out.append(zh.normalize(piece) if is_mandarin(piece) else en.normalize(piece))
    return re.sub(r"[ \t]+", " ", "".join(out)).strip()
