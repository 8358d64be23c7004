"""Where sentences end: the one rule normalization, segmentation, language detection and the
streaming text input all cut by.

A Latin full stop ends a sentence only once whitespace follows it ("3.5" is one number, and a
stream that ends in "3." may still become "3.5"); a CJK full stop ends it at once; a line break
always does. Closing quotes and brackets stay with their sentence.
"""
from __future__ import annotations

import re

_CLOSERS = "\"'”’)）」』"
_END = rf"(?:[.!?;…]+[{_CLOSERS}]*(?=\s)|[。！？；]+[{_CLOSERS}]*|\n)"
_SENTENCE = re.compile(rf".*?{_END}\s*", re.S)


def split_sentences(text: str, final: bool = True) -> tuple[list[str], str]:
    """(sentences, unfinished rest) of `text`, losslessly: "".join(sentences) + rest == text.

    Each sentence keeps its punctuation and the whitespace after it. With `final` the text is
    complete, so its unfinished tail is the last sentence and the rest is empty.
    """
    pieces, end = [], 0
    for match in _SENTENCE.finditer(text):
        pieces.append(match.group(0))
        end = match.end()
    rest = text[end:]
    if final and rest:
        pieces.append(rest)
        rest = ""
    return pieces, rest


def sentences(text: str) -> list[str]:
    """The sentences of a whole text, stripped, each with its closing punctuation."""
    return [s for s in (piece.strip() for piece in split_sentences(text)[0]) if s]
