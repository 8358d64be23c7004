"""Quality benchmark: how intelligible each voice is in its language, as Whisper hears it.

A live server speaks fixed sentences per language (numbers, dates and money included) through
/speak as raw PCM; faster-whisper base (offline) transcribes them; both sides are normalized the
same way (numbers spelled out in the language, Mandarin in simplified characters, Japanese as
kana readings, Hindi as consonant skeletons because Whisper base writes Hindustani in Urdu script)
and scored: WER for alphabetic languages, CER for Mandarin and Japanese. One row per voice.

    ./scripts/bench quality [--voices af_heart,zf_xiaobei] [--show]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import requests

from bench.common import error_rate_of, metric, setup_django, syllable_error_rate, transcribe, whisper_model

SENTENCES = {
    "en": ["The weather today is sunny with a light breeze from the west.",
           "It costs $1,250.50, up 3.5% since March 5, 2025.",
           "The meeting starts at 10:30 and ends at 12:15.",
           "She ran 5 kilometers in 24 minutes on the 3rd of May.",
           "Please call me back after nine o'clock tonight.",
           "Our library opens at nine in the morning and closes at six in the evening.",
           "The train to the airport leaves every fifteen minutes from platform two.",
           "He bought 12 apples, 3 loaves of bread and a bottle of milk for $18."],
    "zh": ["今天天气很好，我们一起去公园散步吧。",
           "会议定在2025年3月5日上午10点开始。",
           "这件衣服的价格是120元，比上个月便宜了一些。",
           "请翻到第3章，我们继续学习。",
           "图书馆早上九点开门，晚上六点关门。",
           "去机场的火车每十五分钟一班，从二号站台出发。",
           "他买了十二个苹果、三个面包和一瓶牛奶。",
           "我们明天下午两点在学校门口见面。"],
    "ja": ["今日はとても良い天気ですね。",
           "会議は2025年3月5日の午前10時に始まります。",
           "この本の値段は1200円です。",
           "駅までは歩いて15分ぐらいかかります。",
           "図書館は朝九時に開いて、夕方六時に閉まります。"],
    "es": ["El tiempo hoy es soleado con una ligera brisa del oeste.",
           "La reunión es el 5 de marzo de 2025 a las 10:30.",
           "El billete cuesta 45 euros y el viaje dura 3 horas.",
           "La biblioteca abre a las nueve de la mañana y cierra a las seis de la tarde.",
           "Compró doce manzanas, tres panes y una botella de leche."],
    "fr": ["Il fait beau aujourd'hui avec une légère brise de l'ouest.",
           "La réunion aura lieu le 5 mars 2025 à 10 heures.",
           "Le billet coûte 45 euros et le voyage dure 3 heures.",
           "La bibliothèque ouvre à neuf heures du matin et ferme à six heures du soir.",
           "Il a acheté douze pommes, trois pains et une bouteille de lait."],
    "it": ["Oggi il tempo è soleggiato con una leggera brezza da ovest.",
           "La riunione si terrà il 5 marzo 2025 alle 10:30.",
           "Il biglietto costa 45 euro e il viaggio dura 3 ore.",
           "La biblioteca apre alle nove del mattino e chiude alle sei di sera.",
           "Ha comprato dodici mele, tre pagnotte e una bottiglia di latte."],
    "pt": ["O tempo hoje está ensolarado com uma brisa leve do oeste.",
           "A reunião será no dia 5 de março de 2025 às 10:30.",
           "A passagem custa 45 reais e a viagem dura 3 horas.",
           "A biblioteca abre às nove da manhã e fecha às seis da tarde.",
           "Ele comprou doze maçãs, três pães e uma garrafa de leite."],
    "hi": ["आज मौसम बहुत अच्छा है और हल्की हवा चल रही है।",
           "बैठक 5 मार्च को सुबह 10 बजे शुरू होगी।",
           "इस किताब की कीमत 250 रुपये है।",
           "पुस्तकालय सुबह नौ बजे खुलता है और शाम छह बजे बंद होता है।",
           "उसने बारह सेब, तीन रोटियाँ और एक बोतल दूध खरीदा।"],
}
# voice -> (language, target error rate)
VOICES = {
    "af_heart": ("en", 0.02), "am_michael": ("en", 0.02), "bf_emma": ("en", 0.02), "joe": ("en", 0.02),
    "zf_xiaobei": ("zh", 0.03), "zm_yunxi": ("zh", 0.03),
    "jf_alpha": ("ja", 0.10), "jm_kumo": ("ja", 0.10),
    "ef_dora": ("es", 0.10), "em_alex": ("es", 0.10), "ff_siwis": ("fr", 0.10),
    "if_sara": ("it", 0.10), "im_nicola": ("it", 0.10), "pf_dora": ("pt", 0.10), "pm_alex": ("pt", 0.10),
    "hf_alpha": ("hi", 0.10), "hm_omega": ("hi", 0.10),
}


def speak_pcm(url: str, voice: str, text: str) -> tuple[np.ndarray, int]:
    r = requests.post(f"{url}/speak", json={"name": voice, "text": text, "response_format": "pcm"}, timeout=300)
    r.raise_for_status()
    return np.frombuffer(r.content, dtype="<i2").astype(np.float32) / 32768.0, int(r.headers["X-Sample-Rate"])


def score_voice(url: str, model, voice: str, language: str, show: bool) -> tuple[float, str]:
    pairs = []
    for text in SENTENCES[language]:
        samples, rate = speak_pcm(url, voice, text)
        heard = transcribe(model, samples, rate, language)
        pairs.append((text, heard))
        if show:
            print(f"    said:  {text}\n    heard: {heard}")
    note = f"syllables with tones {syllable_error_rate(pairs) * 100:.1f}%" if language == "zh" else ""
    return error_rate_of(pairs, language), note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", help="comma-separated subset of " + ",".join(VOICES))
    parser.add_argument("--show", action="store_true", help="print what was said and heard")
    args = parser.parse_args()
    setup_django()
    from tests.liveserver import LiveServer

    voices = args.voices.split(",") if args.voices else list(VOICES)
    workdir = Path(tempfile.mkdtemp(prefix="tts-quality-"))
    model = whisper_model(workdir)
    server = LiveServer(workdir, env={"TTS_ENGINES": "piper,kokoro"}).wait_ready()
    try:
        print("== intelligibility per voice (faster-whisper base; WER, CER for zh/ja/hi) ==")
        print(f"{'voice':12} {'language':9} {'metric':6} {'error':>7} {'target':>7}  sentences")
        for voice in voices:
            language, target = VOICES[voice]
            rate, note = score_voice(server.url, model, voice, language, args.show)
            verdict = "ok" if rate <= target else "over"
            print(f"{voice:12} {language:9} {metric(language):6} {rate * 100:6.1f}% {target * 100:6.0f}%  "
                  f"{len(SENTENCES[language])} {verdict} {note}", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
