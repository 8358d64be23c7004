"""Spanish, French, Italian and Portuguese normalization: numbers, money, dates, times, ordinals.

These languages write 1.250 (or 1 250) for a thousand two hundred fifty and 3,5 for three and a
half; dates are day/month/year.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from num2words import num2words as _num2words


@dataclass(frozen=True)
class Words:
    code: str  # num2words' language code
    comma: str
    minus: str
    percent: str
    plus: str
    and_: str
    months: tuple[str, ...]
    date: str  # format with day, month, year
    first_day: str  # how the 1st of a month is read
    time: str  # format with hour, minute
    currencies: dict  # symbol -> (one, many)
    cents: tuple[str, str]
    money_and: str
    to: str = "a"  # 10-20: "ten to twenty"


WORDS = {
    "es": Words("es", "coma", "menos", "por ciento", "más", "y",
                ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
                 "octubre", "noviembre", "diciembre"),
                "{day} de {month} de {year}", "uno", "{hour} y {minute}",
                {"€": ("euro", "euros"), "$": ("dólar", "dólares"), "£": ("libra", "libras")},
                ("céntimo", "céntimos"), "con"),
    "fr": Words("fr", "virgule", "moins", "pour cent", "plus", "et",
                ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                 "octobre", "novembre", "décembre"),
                "{day} {month} {year}", "premier", "{hour} heures {minute}",
                {"€": ("euro", "euros"), "$": ("dollar", "dollars"), "£": ("livre", "livres")},
                ("centime", "centimes"), "et", "à"),
    "it": Words("it", "virgola", "meno", "per cento", "più", "e",
                ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
                 "ottobre", "novembre", "dicembre"),
                "{day} {month} {year}", "primo", "{hour} e {minute}",
                {"€": ("euro", "euro"), "$": ("dollaro", "dollari"), "£": ("sterlina", "sterline")},
                ("centesimo", "centesimi"), "e"),
    "pt": Words("pt_BR", "vírgula", "menos", "por cento", "mais", "e",
                ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
                 "outubro", "novembro", "dezembro"),
                "{day} de {month} de {year}", "primeiro", "{hour} e {minute}",
                {"R$": ("real", "reais"), "€": ("euro", "euros"), "$": ("dólar", "dólares"), "£": ("libra", "libras")},
                ("centavo", "centavos"), "e"),
}

def num2words(number, **kwargs) -> str:
    """num2words without commas (a comma inside a number is read as a pause)."""
    return _num2words(number, **kwargs).replace(",", "")


# 1.250 / 1 250 (thousands) and 3,5 (decimals)
NUM = r"(?<![\d.,])(?:\d{1,3}(?:[.\u00a0\u202f ]\d{3})+(?!\d)(?:,\d+)?|\d+(?:,\d+)?)"
_CURRENCY_BEFORE = re.compile(rf"(-)?(R\$|[€$£])\s?({NUM})")
_CURRENCY_AFTER = re.compile(rf"(-)?({NUM})\s?(R\$|[€$£])")
_PERCENT = re.compile(rf"(-)?({NUM})\s?%")
_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_TIME = re.compile(r"\b(\d{1,2})[:h](\d{2})\b")
_ORDINAL = re.compile(r"\b(\d+)(?:[ºª°]|(?:er|re|ère|e|ème)\b)")
_NEGATIVE = re.compile(r"(?<![\w\d])-(?=\d)")
_NUMBER = re.compile(NUM)
_RANGE = re.compile(r"(?<=\d)\s?[-–]\s?(?=\d)")


def _int(digits: str) -> int:
    return int(re.sub(r"[.\u00a0\u202f ]", "", digits))


def cardinal(number: str, words: Words) -> str:
    whole, _, frac = number.partition(",")
    text = num2words(_int(whole), lang=words.code)
    if frac:
        zeros = len(frac) - len(frac.lstrip("0"))
        spoken = [num2words(0, lang=words.code)] * zeros
        if frac.lstrip("0"):
            spoken.append(num2words(int(frac), lang=words.code))
        text += f" {words.comma} {' '.join(spoken)}"
    return text


def _money(sign, symbol: str, amount: str, words: Words) -> str:
    one, many = words.currencies[symbol]
    whole, _, frac = amount.partition(",")
    value = _int(whole)
    text = f"{words.minus + ' ' if sign else ''}{num2words(value, lang=words.code)} {one if value == 1 else many}"
    minor = int((frac + "0")[:2]) if frac else 0
    if minor:
        cent_one, cent_many = words.cents
        text += f" {words.money_and} {num2words(minor, lang=words.code)} {cent_one if minor == 1 else cent_many}"
    return text


def _date(day: int, month: int, year: int, original: str, words: Words) -> str:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return original
    spoken_day = words.first_day if day == 1 else num2words(day, lang=words.code)
    return words.date.format(day=spoken_day, month=words.months[month - 1],
                             year=num2words(year, lang=words.code))


def _time(m: re.Match, words: Words) -> str:
    hour, minute = int(m[1]), int(m[2])
    if hour > 24 or minute > 59:
        return m[0]
    spoken_hour = num2words(hour, lang=words.code)
    if minute == 0:
        return spoken_hour
    return words.time.format(hour=spoken_hour, minute=num2words(minute, lang=words.code))


def normalize(text: str, language: str) -> str:
    """Spell out numbers and symbols in a sentence of one of the WORDS languages."""
    words = WORDS[language]
    text = _ISO_DATE.sub(lambda m: _date(int(m[3]), int(m[2]), int(m[1]), m[0], words), text)
    text = _DATE.sub(lambda m: _date(int(m[1]), int(m[2]), int(m[3]), m[0], words), text)
    text = _TIME.sub(lambda m: _time(m, words), text)
    text = _CURRENCY_BEFORE.sub(lambda m: _money(m[1], m[2], m[3], words), text)
    text = _CURRENCY_AFTER.sub(lambda m: _money(m[1], m[3], m[2], words), text)
    text = _PERCENT.sub(lambda m: f"{words.minus + ' ' if m[1] else ''}{cardinal(m[2], words)} {words.percent}",
                        text)
    text = _ORDINAL.sub(lambda m: num2words(int(m[1]), lang=words.code, to="ordinal"), text)
    text = _RANGE.sub(f" {words.to} ", text)
    text = _NEGATIVE.sub(f"{words.minus} ", text)
    text = _NUMBER.sub(lambda m: cardinal(m[0], words), text)
    text = text.replace("&", f" {words.and_} ").replace("+", f" {words.plus} ")
    return re.sub(r"[ \t]+", " ", text)
