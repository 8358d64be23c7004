"""Which language a text is in: script runs, the Latin-script identifier, the voice's language as prior."""
import pytest

from synthesis.text.language import base, detect, languages_in, name, runs, script_runs


@pytest.mark.parametrize("text, prior, expected", [
    ("测试文本", "", "zh"),
    ("你好，世界！Hello world.", "", "zh"),
    ("会議は10時に始まります。", "", "ja"),
    ("東京大学", "ja", "ja"),
    ("東京大学", "en-us", "zh"),
    ("नमस्ते दुनिया", "", "hi"),
    ("안녕하세요", "", "ko"),
    ("The meeting starts at ten in the morning.", "", "en"),
    ("La reunión empieza a las diez de la mañana.", "en-us", "es"),
    ("Le rendez-vous commence à dix heures du matin.", "", "fr"),
    ("La riunione inizia alle dieci del mattino.", "", "it"),
    ("A reunião começa às dez horas da manhã.", "", "pt"),
    ("123", "zh", "zh"),
    ("123", "", "en"),
])
def test_it_detects_the_main_language(text, prior, expected):
    assert detect(text, prior) == expected


def test_a_short_or_unsure_latin_text_keeps_the_voices_language():
    assert detect("Hello", "es") == "es"
    assert detect("Ciao", "en-us") == "en"
    assert detect("OK", "fr") == "fr"


def test_latin_words_inside_mandarin_are_read_as_english():
    assert runs("我们今天学习 machine learning 和 deep learning。", "zh") == [
        ("zh", "我们今天学习 "), ("en", "machine learning "), ("zh", "和 "), ("en", "deep learning。")]


def test_han_inside_japanese_is_japanese():
    assert runs("会議は東京で始まります", "ja") == [("ja", "会議は東京で始まります")]


def test_neutral_characters_join_the_run_before_them():
    assert script_runs("¿Hola? 123") == [("latin", "¿Hola? 123")]
    assert script_runs("42") == [("none", "42")]


def test_it_lists_every_language_a_text_needs_sentence_by_sentence():
    text = "The weather is nice today. 今天天气很好。La reunión empieza a las diez de la mañana."
    assert languages_in(text, "en-us") == ["en", "zh", "es"]


def test_language_names_carry_their_code():
    assert name("zh") == "Mandarin Chinese (zh)"
    assert name("en_GB") == "British English (en-gb)"
    assert base("pt-BR") == "pt"
