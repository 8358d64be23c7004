"""Split text into segments: sentences, then clauses; the first segment short.

Lengths are counted in units: one per Han character, one per word of other
scripts. That is the seed's length_threshold / window_size measure.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .language import CJK_PUNCTUATION, HAN, HAN_CHAR, KANA
from .sentences import sentences

FIRST_SEGMENT_UNITS = 12
_CLAUSE_PUNCTUATION = ",，、:：—"
_CLAUSE_END = re.compile(rf"(?<=[{_CLAUSE_PUNCTUATION}])\s*")
_UNIT = re.compile(f"[{HAN}]|[^\\s{HAN}]+")
MIN_TAIL = 4  # units: a cut never leaves a shorter piece behind when joining it stays within the window

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


def _tokens(text: str) -> list[tuple[str, int]]:
    """(token, units): words of Latin and other scripts, jieba's words of Han runs (never cut inside)."""
    out = []
    for piece in re.findall(f"[{HAN}]+|[^\\s{HAN}]+\\s*|\\s+", text):
        if HAN_CHAR.match(piece):
            import jieba

            jieba.setLogLevel(logging.WARNING)
            out.extend((word, len(word)) for word in jieba.cut(piece, HMM=False))
        else:
            out.append((piece, 1 if piece.strip() else 0))
    return out


def _split_words(text: str, limit: int, cap: int) -> list[str]:
    """Cut a clause with no punctuation into pieces of about `limit` units at word boundaries;
    a short tail joins the piece before it when that stays within `cap`."""
    out, cur, count = [], "", 0
    for token, n in _tokens(text):
        if count and n and count + n > limit:
            out.append(cur.strip())
            cur, count = "", 0
        cur += token
        count += n
    if cur.strip():
        out.append(cur.strip())
    if len(out) > 1 and units(out[-1]) < MIN_TAIL and units(out[-2]) + units(out[-1]) <= cap:
        out[-2:] = [_join(out[-2], out[-1])]
    return out


def _fit(sentence: str, limit: int, cap: int, keep_whole: int = 0) -> list[str]:
    """Pieces of one sentence of at most `limit` units, cut at clauses first; a clause of at most
    `keep_whole` units is not cut inside (it may exceed `limit`, never `cap`)."""
    if units(sentence) <= limit:
        return [sentence]
    pieces, cur = [], ""
    for clause in _split_keep(_CLAUSE_END, sentence):
        if units(clause) > max(limit, min(keep_whole, cap)):
            if cur:
                pieces.append(cur)
                cur = ""
            pieces.extend(_split_words(clause, limit, cap))
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
    if re.search(f"[{CJK_PUNCTUATION}{HAN}{KANA}]$", a) or re.match(f"[{HAN}{KANA}]", b):
        return a + b
    return f"{a} {b}"


def _pause(piece: str, ends_sentence: bool) -> float:
    if ends_sentence:
        return SENTENCE_PAUSE
    return CLAUSE_PAUSE if piece.rstrip()[-1:] in _CLAUSE_PUNCTUATION else 0.0


def segment_text(text: str, length_threshold: int = 50, window_size: int = 50,
                 first_segment: int = FIRST_SEGMENT_UNITS, growth: float = 0.0) -> list[Segment]:
    """Segments in reading order; joined back they hold every word of `text` once.

    The first segment is short (about `first_segment` units) so audio starts early, but its first
    clause is only cut inside when longer than twice that: a cut mid-phrase is heard. With
    `growth`, each next segment may be at most that many times longer than the one before (up to
    the window), so it is rendered while the audio before it plays.
    """
    whole = sentences(text)
    if not whole:
        return []
    window = max(1, window_size)

    def limit(index: int) -> int:  # units segment `index` may hold
        return window if growth <= 1 else max(1, min(window, round(first_segment * growth ** index)))
    if units(text) <= length_threshold and len(whole) == 1 and units(text) <= first_segment:
        return [Segment(whole[0], SENTENCE_PAUSE)]
    # (piece, is the end of a sentence)
    pieces: list[tuple[str, bool]] = []
    for i, sentence in enumerate(whole):
        if i == 0:
            first = min(first_segment, window)
            fitted = _fit(sentence, first, window, keep_whole=2 * first)
            if len(fitted) > 1:
                # Only the head needs to be short; the rest of the first sentence may be longer.
                rest = "".join(fitted[1:]) if HAN_CHAR.search(sentence) else " ".join(fitted[1:])
                fitted = [fitted[0], *_fit(rest, limit(1), window)]
        else:
            fitted = _fit(sentence, limit(len(pieces)), window)
        pieces.extend((p, j == len(fitted) - 1) for j, p in enumerate(fitted))
    merged: list[tuple[str, bool]] = [pieces[0]]
    for piece, ends in pieces[1:]:
        prev, prev_ends = merged[-1]
        if len(merged) > 1 and prev_ends and units(prev) + units(piece) <= limit(len(merged) - 1):
            merged[-1] = (_join(prev, piece), ends)
        else:
            merged.append((piece, ends))
    return [Segment(p, _pause(p, ends)) for p, ends in merged]
