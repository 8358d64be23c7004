"""English normalization: numbers, money, dates, times, units, abbreviations."""
from __future__ import annotations

import re

from num2words import num2words as _num2words

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
              "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", ""),
              "￥": ("yuan", "yuan", "fen", "fen")}
SCALES = {"k": "thousand", "K": "thousand", "thousand": "thousand", "m": "million", "M": "million",
          "million": "million", "bn": "billion", "B": "billion", "billion": "billion",
          "trillion": "trillion"}
UNITS = {
    "km": ("kilometer", "kilometers"), "m": ("meter", "meters"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"), "lb": ("pound", "pounds"), "lbs": ("pounds", "pounds"),
    "oz": ("ounce", "ounces"), "ft": ("foot", "feet"), "mi": ("mile", "miles"),
    "mph": ("mile per hour", "miles per hour"), "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"), "l": ("liter", "liters"),
    "ml": ("milliliter", "milliliters"), "L": ("liter", "liters"), "kb": ("kilobyte", "kilobytes"), "KB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"), "GB": ("gigabyte", "gigabytes"), "TB": ("terabyte", "terabytes"),
    "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"), "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"), "kW": ("kilowatt", "kilowatts"), "kWh": ("kilowatt hour", "kilowatt hours"),
    "W": ("watt", "watts"), "V": ("volt", "volts"), "ms": ("millisecond", "milliseconds"),
    "s": ("second", "seconds"), "sec": ("second", "seconds"), "min": ("minute", "minutes"),
    "h": ("hour", "hours"), "hr": ("hour", "hours"), "hrs": ("hours", "hours"),
    "°C": ("degree Celsius", "degrees Celsius"), "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "℃": ("degree Celsius", "degrees Celsius"),
}
ABBREVIATIONS = {
    "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Dr.": "Doctor", "Prof.": "Professor",
    "Sr.": "Senior", "Jr.": "Junior", "St.": "Saint", "Mt.": "Mount", "vs.": "versus", "vs": "versus",
    "etc.": "etcetera", "e.g.": "for example", "i.e.": "that is", "approx.": "approximately",
    "No.": "number", "Inc.": "Incorporated", "Ltd.": "Limited", "Co.": "Company", "Ave.": "Avenue",
    "Jan.": "January", "Feb.": "February", "Mar.": "March", "Apr.": "April", "Jun.": "June",
    "Jul.": "July", "Aug.": "August", "Sep.": "September", "Sept.": "September", "Oct.": "October",
    "Nov.": "November", "Dec.": "December",
}

NUM = r"\d[\d,]*(?:\.\d+)?"
_CURRENCY = re.compile(rf"(-)?([$€£¥￥])\s?({NUM})(?:\s?(k|K|m|M|bn|B|thousand|million|billion|trillion)\b)?")
_PERCENT = re.compile(rf"(-)?({NUM})\s?%")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_SLASH_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s?([AaPp])\.?[Mm](?:\.(?=\S))?)?(?![\d:])")
_PHONE = re.compile(r"(?<![\w.])(\+?\d{1,3}[\s.-])?(\(?\d{3}\)?[\s.-])\d{3}[\s.-]\d{4}\b")
_LONG_DIGITS = re.compile(r"\b\d{7,}\b")
_UNIT = re.compile(rf"(-)?({NUM})\s?({'|'.join(sorted(map(re.escape, UNITS), key=len, reverse=True))})(?![\w/])")
_ORDINAL = re.compile(r"\b(\d{1,3}(?:,\d{3})*|\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_YEAR_CONTEXT = re.compile(r"\b(in|since|by|until|from|year|of|during|before|after)\s+(1[1-9]\d\d|20\d\d)\b", re.I)
_NEGATIVE = re.compile(r"(?<![\w\d])-(?=\d)")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_RANGE = re.compile(r"(?<=\d)\s?[-–]\s?(?=\d)")
_SYMBOLS = {"&": " and ", "+": " plus ", "=": " equals ", "@": " at ", "#": " number "}


def num2words(number, **kwargs) -> str:
    """num2words without its commas and "and": "one thousand two hundred fifty", not
    "one thousand, two hundred and fifty" (the commas make pauses listeners hear as separate numbers)."""
    return re.sub(r",| and(?= )", "", _num2words(number, **kwargs))


def _words(number: str) -> str:
    clean = number.replace(",", "")
    if "." in clean:
        whole, frac = clean.split(".", 1)
        head = num2words(int(whole or 0))
        return f"{head} point {' '.join(num2words(int(d)) for d in frac)}"
    return num2words(int(clean))


def _digits(text: str) -> str:
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    groups = re.findall(r"\d+", text)
    return ", ".join(" ".join(names[int(d)] for d in g) for g in groups)


def _currency(m: re.Match) -> str:
    sign, symbol, amount, scale = m.groups()
    one, many, cent, cents = CURRENCIES[symbol]
    minus = "minus " if sign else ""
    if scale:
        return f"{minus}{_words(amount)} {SCALES[scale]} {many}"
    clean = amount.replace(",", "")
    whole, _, frac = clean.partition(".")
    value = int(whole or 0)
    text = f"{minus}{num2words(value)} {one if value == 1 else many}"
    if frac and cent:
        minor = int((frac + "0")[:2])
        if minor:
            text += f" and {num2words(minor)} {cent if minor == 1 else cents}"
    return text


def _time(m: re.Match) -> str:
    hour, minute, second, meridiem = int(m[1]), int(m[2]), m[3], m[4]
    if hour > 24 or minute > 59:
        return m[0]
    text = num2words(hour)
    if minute == 0:
        text += "" if meridiem else " o'clock"
    elif minute < 10:
        text += f" oh {num2words(minute)}"
    else:
        text += f" {num2words(minute)}"
    if second and int(second):
        text += f" and {num2words(int(second))} seconds"
    if meridiem:
        text += " A M" if meridiem.lower() == "a" else " P M"
    return text


def _date(year: int, month: int, day: int, original: str) -> str:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return original
    return f"{MONTHS[month - 1]} {num2words(day, to='ordinal')}, {num2words(year, to='year')}"


def _unit(m: re.Match) -> str:
    sign, amount, unit = m.groups()
    one, many = UNITS[unit]
    value = float(amount.replace(",", ""))
    return f"{'minus ' if sign else ''}{_words(amount)} {one if value == 1 else many}"


def _abbreviations(text: str) -> str:
    for abbr, full in sorted(ABBREVIATIONS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"(?<![\w.]){re.escape(abbr)}(?=\s|$|[,;:!?])", full, text)
    return text


def normalize(text: str) -> str:
    """Spell out what espeak and Piper would misread in English text."""
    text = _abbreviations(text)
    text = _ISO_DATE.sub(lambda m: _date(int(m[1]), int(m[2]), int(m[3]), m[0]), text)
    text = _SLASH_DATE.sub(lambda m: _date(int(m[3]), int(m[1]), int(m[2]), m[0]), text)
    text = _TIME.sub(_time, text)
    text = _PHONE.sub(lambda m: _digits(m[0]), text)
    text = _LONG_DIGITS.sub(lambda m: _digits(m[0]), text)
    text = _CURRENCY.sub(_currency, text)
    text = _PERCENT.sub(lambda m: f"{'minus ' if m[1] else ''}{_words(m[2])} percent", text)
    text = _UNIT.sub(_unit, text)
    text = _ORDINAL.sub(lambda m: num2words(int(m[1].replace(",", "")), to="ordinal"), text)
    text = _YEAR_CONTEXT.sub(lambda m: f"{m[1]} {num2words(int(m[2]), to='year')}", text)
    text = _RANGE.sub(" to ", text)
    text = _NEGATIVE.sub("minus ", text)
    text = _NUMBER.sub(lambda m: _words(m[0].rstrip(",")) + ("," if m[0].endswith(",") else ""), text)
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    return re.sub(r"\s+", " ", text)
