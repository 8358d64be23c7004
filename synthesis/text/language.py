"""Which language a text is in: by script, and for Latin script by a light language identifier.

Language codes are lower-case BCP 47 tags: a voice's native language may carry a region
(`en-us`, `en-gb`, `pt-br`); detection answers base languages (`en`, `pt`). Characters that
belong to no script (digits, punctuation, spaces) join the run before them.
"""
from __future__ import annotations

import re
import threading

from .sentences import split_sentences

# The one definition of each script's characters; other modules import these.
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA = r"\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
CJK_PUNCTUATION = r"\u3000-\u303f\uff00-\uff65"
HAN_CHAR = re.compile(f"[{HAN}]")
CJK_CHAR = re.compile(f"[{HAN}{KANA}]")

_SCRIPTS = (
    ("han", f"[{HAN}]"),
    ("kana", f"[{KANA}]"),
    ("deva", r"[\u0900-\u097f]"),
    ("hangul", r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]"),
    ("cyrillic", r"[\u0400-\u04ff]"),
    ("arabic", r"[\u0600-\u06ff]"),
    ("hebrew", r"[\u0590-\u05ff]"),
    ("greek", r"[\u0370-\u03ff]"),
    ("thai", r"[\u0e00-\u0e7f]"),
    ("latin", r"[A-Za-z\u00c0-\u024f]"),
)
_SCRIPT_OF = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _SCRIPTS))
SCRIPT_LANGUAGE = {"deva": "hi", "hangul": "ko", "cyrillic": "ru", "arabic": "ar", "hebrew": "he",
                   "greek": "el", "thai": "th"}
# Latin-script languages the identifier chooses between (what the engines have G2P for).
LATIN_LANGUAGES = ("en", "es", "fr", "it", "pt")
# Every language detect() can answer.
DETECTED_LANGUAGES = frozenset({*LATIN_LANGUAGES, "zh", "ja", *SCRIPT_LANGUAGE.values()})
# Detection below this probability keeps the prior (the voice's own language, else English).
CONFIDENT = 0.8
# A Latin prior is only overridden by a confident answer on a text of at least this many words.
OVERRIDE_WORDS = 3

NAMES = {"en": "English", "en-us": "American English", "en-gb": "British English", "zh": "Mandarin Chinese",
         "ja": "Japanese", "es": "Spanish", "fr": "French", "hi": "Hindi", "it": "Italian", "pt": "Portuguese",
         "pt-br": "Brazilian Portuguese", "ko": "Korean", "ru": "Russian", "ar": "Arabic", "he": "Hebrew",
         "el": "Greek", "th": "Thai", "de": "German"}

_identifier = None
_identifier_lock = threading.Lock()


def base(language: str) -> str:
    """'en-US' -> 'en'; '' stays ''."""
    return (language or "").lower().replace("_", "-").split("-")[0]


def tag(language: str) -> str:
    """A language code in the catalog's form: lower case, '-' between parts ('en_US' -> 'en-us')."""
    return (language or "").strip().lower().replace("_", "-")


def name(language: str) -> str:
    """A human name for a language code, with the code: 'Mandarin Chinese (zh)'."""
    code = tag(language)
    label = NAMES.get(code) or NAMES.get(base(code)) or code
    return f"{label} ({code})"


def identifier():
    """py3langid restricted to LATIN_LANGUAGES; loaded once (about a second)."""
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                ident.set_languages(list(LATIN_LANGUAGES))
                _identifier = ident
    return _identifier


def script_runs(text: str) -> list[tuple[str, str]]:
    """[(script, text)]: maximal runs of one script; neutral characters join the run before them."""
    runs: list[list[str]] = []
    lead = ""
    for char in text:
        match = _SCRIPT_OF.match(char)
        if match is None:
            if runs:
                runs[-1][1] += char
            else:
                lead += char
            continue
        script = match.lastgroup
        if runs and runs[-1][0] == script:
            runs[-1][1] += char
        else:
            runs.append([script, char])
    if not runs:
        return [("none", lead)] if lead else []
    runs[0][1] = lead + runs[0][1]
    return [(script, piece) for script, piece in runs]


def _units(script: str, piece: str) -> float:
    """How much of the text a run is: Han and kana characters, words of other scripts."""
    if script == "han":
        return float(len(HAN_CHAR.findall(piece)))
    if script == "kana":
        return len(re.findall(f"[{KANA}]", piece)) / 2.0
    return float(len(piece.split()) or 1)


def latin_language(text: str, prior: str = "") -> str:
    """The Latin-script language of `text`; the prior wins unless the identifier is confident."""
    fallback = base(prior) if base(prior) in LATIN_LANGUAGES else "en"
    letters = re.sub(r"[^A-Za-z\u00c0-\u024f\s']", " ", text)
    words = letters.split()
    if not words:
        return fallback
    language, probability = identifier().classify(" ".join(words))
    if language == fallback or probability < CONFIDENT:
        return fallback
    if base(prior) in LATIN_LANGUAGES and len(words) < OVERRIDE_WORDS:
        return fallback
    return language


def detect(text: str, prior: str = "") -> str:
    """The main language of `text`; `prior` (the voice's language) decides what the text cannot."""
    weights: dict[str, float] = {}
    for script, piece in script_runs(text):
        if script != "none":
            weights[script] = weights.get(script, 0.0) + _units(script, piece)
    if not weights:
        return base(prior) or "en"
    if "kana" in weights:  # Japanese writes Han characters among its kana
        weights["kana"] += weights.pop("han", 0.0)
    main = max(weights, key=weights.get)
    if main == "han":
        return "ja" if base(prior) == "ja" else "zh"
    if main == "kana":
        return "ja"
    if main == "latin":
        latin = " ".join(piece for script, piece in script_runs(text) if script == "latin")
        return latin_language(latin, prior)
    return SCRIPT_LANGUAGE[main]


def runs(text: str, main: str) -> list[tuple[str, str]]:
    """[(language, text)] for reading `text` whose main language is `main`, neighbours merged.

    Han is Japanese in a Japanese text and Mandarin otherwise; Latin words inside a text of
    another script are English unless the text's language is itself Latin-script.
    """
    main = base(main)
    out: list[tuple[str, str]] = []
    for script, piece in script_runs(text):
        if script == "han":
            language = "ja" if main == "ja" else "zh"
        elif script == "kana":
            language = "ja"
        elif script in ("latin", "none"):
            language = main if main in LATIN_LANGUAGES or script == "none" else "en"
        else:
            language = SCRIPT_LANGUAGE[script]
        if out and out[-1][0] == language:
            out[-1] = (language, out[-1][1] + piece)
        else:
            out.append((language, piece))
    return out


def languages_in(text: str, prior: str = "") -> list[str]:
    """Every language a text needs, main language first, per sentence."""
    found: list[str] = []
    for sentence in split_sentences(text)[0]:
        if not sentence.strip():
            continue
        main = detect(sentence, prior)
        for language in [main, *(lang for lang, _ in runs(sentence, main))]:
            if language not in found:
                found.append(language)
    return found
