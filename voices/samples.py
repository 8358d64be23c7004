"""Sample sentences and the stored sample of each voice (its preview on the page and in the admin)."""
from __future__ import annotations

import threading
from collections import defaultdict

from django.core.files.base import ContentFile

from synthesis.text.language import base

from .models import Voice

SAMPLE_SENTENCES = {"en": "Hello! This is a sample of my voice.", "zh": "你好，欢迎使用语音合成服务。",
                    "ja": "こんにちは。これは私の声のサンプルです。", "es": "¡Hola! Esta es una muestra de mi voz.",
                    "fr": "Bonjour ! Voici un échantillon de ma voix.", "it": "Ciao! Questo è un campione della mia voce.",
                    "pt": "Olá! Esta é uma amostra da minha voz.", "hi": "नमस्ते! यह मेरी आवाज़ का एक नमूना है।"}

# One synthesis per voice at a time: visitors clicking ▶ together wait for the same sample.
_sample_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


def synthesize_sample(voice: Voice) -> Voice:
    """Speak a sample sentence with the voice and store it as the voice's sample audio."""
    from asgiref.sync import async_to_sync

    from synthesis import services as synthesis_services
    from synthesis.streaming import encoded_whole
    from synthesis.types import SynthesisRequest, Turn

    from .services import _slug, to_ref

    text = SAMPLE_SENTENCES.get(base(voice.language), SAMPLE_SENTENCES["en"])
    job = synthesis_services.start_synthesis(SynthesisRequest([Turn(to_ref(voice), text)], dialect="admin"))
    data = async_to_sync(encoded_whole)(job, "mp3")
    if voice.sample_audio:
        voice.sample_audio.delete(save=False)
    voice.sample_audio.save(f"{_slug(voice.name)}.sample.mp3", ContentFile(data), save=True)
    return voice


def stored_sample(name: str) -> Voice:
    """The enabled voice `name`, if the caller may use it, with its sample stored: made the first
    time anyone asks, then kept (a curator's "synthesize a sample" replaces it)."""
    from synthesis.errors import VoiceNotFound

    from .ownership import usable

    voice = usable().filter(name=name).first()
    if voice is None:
        raise VoiceNotFound(f"voice {name!r} not found", field="voice")
    if _has_sample(voice):
        return voice
    with _sample_locks[name]:
        voice.refresh_from_db()
        if not _has_sample(voice):
            synthesize_sample(voice)
    return voice


def _has_sample(voice: Voice) -> bool:
    return bool(voice.sample_audio) and voice.sample_audio.storage.exists(voice.sample_audio.name)


def store_missing_samples(voices) -> tuple[int, list[str]]:
    """Make the sample of every voice in `voices` that has none; (made, failures as 'name: why')."""
    made, failed = 0, []
    for voice in voices:
        if _has_sample(voice):
            continue
        try:
            synthesize_sample(voice)
            made += 1
        except Exception as e:  # one voice failing must not stop the others
            failed.append(f"{voice.name}: {e}")
    return made, failed
