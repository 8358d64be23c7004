"""Japanese normalization: what Open JTalk does not read (times, currency signs, numeric dates).

Open JTalk reads digits, counters, 年月日 and % itself.
"""
from __future__ import annotations

import re

CURRENCIES = {"¥": "円", "￥": "円", "$": "ドル", "€": "ユーロ", "£": "ポンド"}
NUM = r"\d[\d,]*(?:\.\d+)?"

RULES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"), lambda m: f"{m[1]}年{int(m[2])}月{int(m[3])}日"),
    (re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?::(\d{2}))?(?!\d)"),
     lambda m: f"{int(m[1])}時" + (f"{int(m[2])}分" if int(m[2]) else "") + (f"{int(m[3])}秒" if m[3] and int(m[3]) else "")),
    (re.compile(rf"([¥￥$€£])\s?({NUM})"), lambda m: f"{m[2]}{CURRENCIES[m[1]]}"),
    (re.compile(r"[％]"), lambda m: "%"),
]


def normalize(text: str) -> str:
    """Spell out what Open JTalk would read as symbols."""
    for pattern, repl in RULES:
        text = pattern.sub(repl, text)
    return text
