"""Split text into segments: sentences, then clauses; the first segment short.

Lengths are counted in units: one per Han character, one per word of other
scripts. That is the seed's length_threshold / window_size measure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

FIRST_SEGMENT_UNITS = 12
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;…])[\"'”’)）]*\s*|\n+")
_CLAUSE_END = re.compile(r"(?<=[,，、:：—])\s*")
_UNIT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[^\s\u3400-\u4dbf\u4e00-\u9fff]+")

SENTENCE_PAUSE = 0.18
CLAUSE_PAUSE = 0.06


@dataclass(frozen=True)
class Segment:
    text: str
    pause_after: float  # seconds of silence that follow this segment


def units(text: str) -> int:
    return len(_UNIT.findall(text))


def _split_keep(pattern: re.Pattern, text: str) -> list[str]:
    return [p for p in (piece.strip() for piece in pattern.split(text)) if p]


def _split_words(text: str, limit: int) -> list[str]:
    """Cut a clause with no punctuation at unit boundaries, never inside a word."""
    tokens = re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]|[^\s\u3400-\u4dbf\u4e00-\u9fff]+\s*|\s+", text)
    out, cur, count = [], "", 0
    for tok in tokens:
        if count >= limit and tok.strip():
            out.append(cur.strip())
            cur, count = "", 0
        cur += tok
        count += 1 if tok.strip() else 0
    if cur.strip():
        out.append(cur.strip())
    return out


def _fit(sentence: str, limit: int) -> list[str]:
    """Pieces of one sentence, each at most `limit` units, cut at clauses first."""
    if units(sentence) <= limit:
        return [sentence]
    pieces, cur = [], ""
    for clause in _split_keep(_CLAUSE_END, sentence):
        if units(clause) > limit:
            if cur:
                pieces.append(cur)
                cur = ""
            pieces.extend(_split_words(clause, limit))
        elif cur and units(cur) + units(clause) > limit:
            pieces.append(cur)
            cur = clause
        else:
            cur = _join(cur, clause)
    if cur:
        pieces.append(cur)
    return pieces


def _join(a: str, b: str) -> str:
    if not a:
        return b
    if re.search(r"[\u3000-\u303f\uff00-\uffef\u4e00-\u9fff]$", a) or re.match(r"[\u4e00-\u9fff]", b):
        return a + b
    return f"{a} {b}"


def segment_text(text: str, length_threshold: int = 50, window_size: int = 50,
                 first_segment: int = FIRST_SEGMENT_UNITS) -> list[Segment]:
    """Segments in reading order; joined back they hold every word of `text` once."""
    sentences = _split_keep(_SENTENCE_END, text)
    if not sentences:
        return []
    window = max(1, window_size)
    if units(text) <= length_threshold and len(sentences) == 1 and units(text) <= first_segment:
        return [Segment(sentences[0], SENTENCE_PAUSE)]
    # (piece, is the end of a sentence)
    pieces: list[tuple[str, bool]] = []
    for i, sentence in enumerate(sentences):
        limit = min(first_segment, window) if i == 0 else window
        fitted = _fit(sentence, limit)
        if i == 0 and len(fitted) > 1:
            # Only the head needs to be short; the rest of the first sentence may be longer.
            rest = " ".join(fitted[1:]) if not _HAN_ANY.search(sentence) else "".join(fitted[1:])
            fitted = [fitted[0], *_fit(rest, window)]
        pieces.extend((p, j == len(fitted) - 1) for j, p in enumerate(fitted))
    merged: list[tuple[str, bool]] = [pieces[0]]
    for piece, ends in pieces[1:]:
        prev, prev_ends = merged[-1]
        if len(merged) > 1 and prev_ends and units(prev) + units(piece) <= window:
            merged[-1] = (_join(prev, piece), ends)
        else:
            merged.append((piece, ends))
    return [Segment(p, SENTENCE_PAUSE if ends else CLAUSE_PAUSE) for p, ends in merged]


_HAN_ANY = re.compile(r"[\u4e00-\u9fff]")
