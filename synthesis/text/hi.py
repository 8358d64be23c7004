"""Hindi normalization. espeak-ng's Hindi voice reads digits as Hindi numbers; this spells out
what it would read as symbols (currency, percent, numeric dates) and maps Devanagari digits.
"""
from __future__ import annotations

import re

MONTHS = ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर",
          "दिसंबर")
CURRENCIES = {"₹": "रुपये", "$": "डॉलर", "€": "यूरो", "£": "पाउंड"}
_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
NUM = r"\d[\d,]*(?:\.\d+)?"


def _date(day: int, month: int, year: str, original: str) -> str:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return original
    return f"{day} {MONTHS[month - 1]} {year}"


RULES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), lambda m: _date(int(m[3]), int(m[2]), m[1], m[0])),
    (re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b"), lambda m: _date(int(m[1]), int(m[2]), m[3], m[0])),
    (re.compile(rf"([₹$€£])\s?({NUM})"), lambda m: f"{m[2].replace(',', '')} {CURRENCIES[m[1]]}"),
    (re.compile(rf"({NUM})\s?%"), lambda m: f"{m[1].replace(',', '')} प्रतिशत"),
    (re.compile(r"(?<=\d),(?=\d)"), lambda m: ""),
]


def normalize(text: str) -> str:
    """Spell out symbols espeak-ng's Hindi voice would not read."""
    text = text.translate(_DEVANAGARI_DIGITS)
    for pattern, repl in RULES:
        text = pattern.sub(repl, text)
    return text
