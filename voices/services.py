"""The voice catalog's verbs: resolve, register built-ins, add, delete, import roles."""
from __future__ import annotations

import base64
import logging
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from synthesis.engines.base import Engine
from synthesis.errors import Conflict, InvalidInput, TTSError, VoiceNotFound
from synthesis.types import VoiceRef

from .models import Voice

logger = logging.getLogger(__name__)

OPENAI_VOICE_NAMES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage",
                      "shimmer", "verse"}
AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a", ".aac", ".webm"}


_latents: dict[tuple[int, str], str] = {}


def latent_text(voice: Voice) -> str:
    """The voice's stored latent as base64 ('' if none), read from storage once per version."""
    if not voice.latent:
        return ""
    key = (voice.pk, voice.latent.name)
    if key not in _latents:
        with voice.latent.open("rb") as f:
            _latents[key] = base64.b64encode(f.read()).decode()
    return _latents[key]


def to_ref(voice: Voice) -> VoiceRef:
    return VoiceRef(voice.name, voice.engine, voice.engine_voice, voice.language, latent_text(voice))


def resolve_voice(name: str, *, openai_aliases: bool = False) -> VoiceRef:
    """The enabled catalog voice called `name`, or a blend like `a(2)+b(1)` an engine can speak.

    OpenAI's stock names map to the default voice.
    """
    voice = Voice.objects.enabled().filter(name=name).first()
    if voice is None and openai_aliases and name.lower() in OPENAI_VOICE_NAMES:
        voice = Voice.objects.enabled().filter(name=settings.TTS_DEFAULT_VOICE).first()
    if voice is not None:
        return to_ref(voice)
    engine = blend_engine(name)
    if engine is None:
        raise VoiceNotFound(f"voice {name!r} not found", field="voice")
    return VoiceRef(name, engine, name, "multi")


def blend_engine(spec: str) -> str | None:
    """The enabled engine that can speak the blend `spec`, if any."""
    if "+" not in spec and "(" not in spec:
        return None
    from synthesis import services as synthesis_services

    for engine_name in settings.TTS_ENGINES:
        try:
            engine = synthesis_services.load_engine(engine_name)
        except TTSError:
            continue
        if engine.is_voice(spec):
            return engine_name
    return None


def add_blend(name: str, spec: str, *, created_by: str = "api") -> Voice:
    """Save a weighted blend of voicepacks (e.g. `jf_alpha(2)+jm_kumo(1)`) as a catalog voice."""
    engine = blend_engine(spec)
    if engine is None:
        raise InvalidInput(f"blend {spec!r} names voices no engine can blend", field="blend")
    try:
        with transaction.atomic():
            return Voice.objects.create(name=name, engine=engine, engine_voice=spec, language="multi",
                                        created_by=created_by, description=f"Blend of {spec}")
    except IntegrityError as e:
        raise Conflict(f"voice {name!r} already exists", field="name") from e


async def aresolve_voice(name: str, *, openai_aliases: bool = False) -> VoiceRef:
    from asgiref.sync import sync_to_async

    return await sync_to_async(resolve_voice)(name, openai_aliases=openai_aliases)


def sync_builtin_voices(engines: dict[str, Engine]) -> int:
    """Register every voice of the loaded engines once; returns how many were added."""
    added = 0
    for engine in engines.values():
        for ev in engine.voices():
            existing = Voice.objects.filter(engine=engine.name, engine_voice=ev.id, is_builtin=True)
            if existing.exists():
                continue
            name = ev.id if not Voice.objects.filter(name=ev.id).exists() else f"{engine.name}-{ev.id}"
            Voice.objects.create(name=name, engine=engine.name, engine_voice=ev.id, language=ev.language,
                                 gender=ev.gender, description=ev.description, is_builtin=True,
                                 created_by="system")
            added += 1
    return added


def default_voice() -> Voice:
    voice = Voice.objects.enabled().filter(name=settings.TTS_DEFAULT_VOICE).first()
    voice = voice or Voice.objects.enabled().filter(is_builtin=True).first()
    if voice is None:
        raise VoiceNotFound("no voice is installed")
    return voice


def add_voice(name: str, prepared, reference_text: str = "", *, created_by: str = "api") -> Voice:
    """Store a prepared reference and its latent (for the clone engine) as a new catalog voice.

    The latent is computed once here, so speaking with the voice never analyses it again.
    """
    from synthesis import services as synthesis_services

    name = (name or "").strip()
    if not name or len(name) > 255:
        raise InvalidInput("name must be 1-255 characters", field="name")
    engine = synthesis_services.clone_engine()
    latent = base64.b64decode(synthesis_services.reference_latent(prepared, engine))
    voice = Voice(name=name, engine=engine.name, engine_voice="", language="multi",
                  reference_text=reference_text or "", created_by=created_by,
                  description=f"Cloned from reference audio ({prepared.duration:.1f} s) by timbre matching on "
                              f"{engine.name}.")
    try:
        with transaction.atomic():
            voice.save()
            voice.reference_audio.save(f"{_slug(name)}.wav", ContentFile(prepared.wav_bytes()), save=False)
            voice.latent.save(f"{_slug(name)}.latent.npz", ContentFile(latent), save=False)
            voice.save()
    except IntegrityError as e:
        _delete_files(voice)
        raise Conflict(f"voice {name!r} already exists", field="name") from e
    except Exception:
        _delete_files(voice)  # no half-written file stays behind
        raise
    return voice


def _delete_files(voice: Voice) -> None:
    for f in (voice.reference_audio, voice.latent):
        if f:
            f.delete(save=False)


def delete_voice(name: str) -> None:
    """Delete a voice and its files."""
    voice = Voice.objects.filter(name=name).first()
    if voice is None:
        raise VoiceNotFound(f"voice {name!r} not found", field="name")
    files = [f for f in (voice.reference_audio, voice.latent, voice.sample_audio) if f]
    with transaction.atomic():
        voice.delete()
    for f in files:
        f.storage.delete(f.name)


def role_names() -> list[str]:
    return list(Voice.objects.enabled().values_list("name", flat=True))


def import_role_dir(directory: Path, prepare) -> tuple[list[str], list[str]]:
    """Import a role directory (Flash-TTS roles or Fish Speech references/<id>/):
    one folder per voice with an audio file and an optional transcript (.txt or .lab).

    `prepare` turns raw audio bytes into a PreparedReference (the reference intake).
    Returns (imported names, skipped names with reasons).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory")
    imported, skipped = [], []
    for role in sorted(p for p in directory.iterdir() if p.is_dir()):
        audio = next((f for f in sorted(role.iterdir()) if f.suffix.lower() in AUDIO_SUFFIXES), None)
        if audio is None:
            skipped.append(f"{role.name}: no audio file")
            continue
        if Voice.objects.filter(name=role.name).exists():
            skipped.append(f"{role.name}: already in the catalog")
            continue
        text_file = next((f for f in sorted(role.iterdir()) if f.suffix.lower() in (".txt", ".lab")), None)
        text = text_file.read_text(encoding="utf-8").strip() if text_file else ""
        try:
            add_voice(role.name, prepare(audio.read_bytes()), text, created_by="import_roles")
        except (InvalidInput, Conflict) as e:
            skipped.append(f"{role.name}: {e}")
            continue
        imported.append(role.name)
    return imported, skipped


def _slug(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return safe[:80] or "voice"




def voice_exists(name: str) -> bool:
    return Voice.objects.filter(name=name).exists()


def rename_voice(old: str, new: str) -> Voice:
    """Rename a catalog voice; 404 if absent, 409 if the new name is taken."""
    voice = Voice.objects.filter(name=old).first()
    if voice is None:
        raise VoiceNotFound(f"Reference voice '{old}' not found", field="old_reference_id")
    voice.name = new
    try:
        with transaction.atomic():
            voice.save(update_fields=["name", "updated_at"])
    except IntegrityError as e:
        raise Conflict(f"Reference voice '{new}' already exists", field="new_reference_id") from e
    return voice


SAMPLE_SENTENCES = {"zh": "你好，欢迎使用语音合成服务。", "en": "Hello! This is a sample of my voice.",
                    "multi": "Hello! This is a sample of my voice. 你好！"}


def synthesize_sample(voice: Voice) -> Voice:
    """Speak a sample sentence with the voice and store it as the voice's sample audio."""
    from asgiref.sync import async_to_sync

    from synthesis import services as synthesis_services
    from synthesis.types import SynthesisRequest, Turn

    text = SAMPLE_SENTENCES.get(voice.language, SAMPLE_SENTENCES["en"])
    job = synthesis_services.start_synthesis(SynthesisRequest([Turn(to_ref(voice), text)], dialect="admin"))
    data = async_to_sync(synthesis_services.encoded_whole)(job, "mp3")
    if voice.sample_audio:
        voice.sample_audio.delete(save=False)
    voice.sample_audio.save(f"{_slug(voice.name)}.sample.mp3", ContentFile(data), save=True)
    return voice
