"""Mandarin normalization: dates, times, money, percentages, phone numbers, units."""
from __future__ import annotations

import re

import cn2an

DIGITS = "零一二三四五六七八九"
PHONE_DIGITS = "零幺二三四五六七八九"
CURRENCIES = {"￥": "元", "¥": "元", "$": "美元", "€": "欧元", "£": "英镑"}
UNITS = {
    "km/h": "公里每小时", "km": "公里", "kg": "千克", "cm": "厘米", "mm": "毫米", "ml": "毫升",
    "mg": "毫克", "GB": "G B", "MB": "M B", "TB": "T B", "kWh": "千瓦时", "kW": "千瓦",
    "°C": "摄氏度", "℃": "摄氏度", "°F": "华氏度", "m²": "平方米", "m": "米", "g": "克",
    "L": "升", "l": "升", "h": "小时", "s": "秒",
}
NUM = r"\d+(?:\.\d+)?"


def _number(text: str) -> str:
    """Cardinal reading, decimals read digit by digit after 点."""
    return cn2an.an2cn(text.replace(",", "").replace("，", ""), "low")


def _digit_string(text: str, phone: bool = False) -> str:
    table = PHONE_DIGITS if phone else DIGITS
    return "".join(table[int(c)] for c in text if c.isdigit())


def _date_ymd(y: str, m: str, d: str) -> str:
    return f"{_digit_string(y)}年{_number(str(int(m)))}月{_number(str(int(d)))}日"


def _time(m: re.Match) -> str:
    hour, minute = int(m[1]), int(m[2])
    if hour > 24 or minute > 59:
        return m[0]
    text = f"{_number(str(hour))}点"
    if minute:
        text += ("零" if minute < 10 else "") + f"{_number(str(minute))}分"
    if m[3] and int(m[3]):
        text += f"{_number(str(int(m[3])))}秒"
    return text


RULES: list[tuple[re.Pattern, object]] = [
    (re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:日|号)?"), lambda m: _date_ymd(m[1], m[2], m[3])),
    (re.compile(r"(\d{4})年"), lambda m: f"{_digit_string(m[1])}年"),
    (re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?"), _time),
    (re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)"),
     lambda m: _digit_string(m[0], phone=True)),
    (re.compile(r"(?<!\d)\d{3,4}-\d{7,8}(?!\d)"), lambda m: _digit_string(m[0], phone=True)),
    (re.compile(r"(?<![\d.])\d{7,}(?![\d.])"), lambda m: _digit_string(m[0], phone=True)),
    (re.compile(rf"(-)?([￥¥$€£])\s?({NUM}|\d[\d,]*)"),
     lambda m: f"{'负' if m[1] else ''}{_number(m[3])}{CURRENCIES[m[2]]}"),
    (re.compile(rf"(-)?({NUM})\s?[%％]"), lambda m: f"{'负' if m[1] else ''}百分之{_number(m[2])}"),
    (re.compile(r"(?<=\d)\s?[-~～]\s?(?=\d)"), lambda m: "到"),
    (re.compile(r"(?<![\dA-Za-z])-(?=\d)"), lambda m: "负"),
    (re.compile(rf"({NUM})\s?({'|'.join(sorted(map(re.escape, UNITS), key=len, reverse=True))})(?![A-Za-z])"),
     lambda m: f"{_number(m[1])}{UNITS[m[2]]}"),
    (re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"), lambda m: _number(m[0])),
    (re.compile(NUM), lambda m: _number(m[0])),
]


def normalize(text: str) -> str:
    """Spell out digits and symbols in a Mandarin sentence."""
    for pattern, repl in RULES:
        text = pattern.sub(repl, text)
    return text
