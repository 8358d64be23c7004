"""The voice catalog's verbs: resolve, register built-ins, add, delete, import roles."""
from __future__ import annotations

import base64
import logging
from pathlib import Path
from urllib.parse import quote

import numpy as np

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from synthesis.engines.base import Engine, EngineError
from synthesis.engines.registry import engine_class
from synthesis.errors import Conflict, InvalidInput, LanguageNotSupported, TTSError, VoiceNotFound, VoiceUnusable
from synthesis.text.language import base, detect, languages_in
from synthesis.text.language import name as language_name
from synthesis.types import VoiceRef

from .models import Voice
from .ownership import changeable, ownership, usable
from .samples import SAMPLE_SENTENCES, synthesize_sample  # noqa: F401  (re-exported: the catalog's verbs)

logger = logging.getLogger(__name__)

OPENAI_VOICE_NAMES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage",
                      "shimmer", "verse"}
# OpenAI's stock voices that Kokoro has a namesake of; the others get the text language's default.
OPENAI_NAMESAKES = {"alloy": "af_alloy", "echo": "am_echo", "fable": "bm_fable", "nova": "af_nova",
                    "onyx": "am_onyx"}
# Flash-TTS / Spark preset names: a voice of that gender in the text's language (unless a catalog
# voice has the name, as Spark's presets do when Spark is loaded).
PRESET_GENDERS = {"female": "female", "male": "male"}
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


def resolve_voice(name: str, *, text: str = "", openai_aliases: bool = False) -> VoiceRef:
    """The voice a client means by `name` for speaking `text`.

    An enabled catalog voice, a preset gender (`female`, `male`), with `openai_aliases` one of
    OpenAI's stock names (its Kokoro namesake when that speaks the text's language, else the
    language's default), or a blend like `a(2)+b(1)` an engine can speak.
    """
    voice = usable().filter(name=name).first()
    if voice is None and name.lower() in PRESET_GENDERS:
        voice = default_voice(text, gender=PRESET_GENDERS[name.lower()])
    if voice is None and openai_aliases and name.lower() in OPENAI_VOICE_NAMES:
        voice = openai_voice(name.lower(), text)
    if voice is not None:
        return to_ref(voice)
    engine = blend_engine_name(name)
    if engine is None:
        raise VoiceNotFound(f"voice {name!r} not found", field="voice")
    return VoiceRef(name, engine, name, blend_language(engine, name))


def openai_voice(name: str, text: str) -> Voice:
    """OpenAI's stock voice `name`: its namesake when native to the text's language, else that
    language's default voice of the namesake's gender."""
    namesake = usable().filter(name=OPENAI_NAMESAKES.get(name, "")).first()
    if namesake is None:
        return default_voice(text)
    if base(namesake.language) == detect(text, namesake.language):
        return namesake
    return default_voice(text, gender=namesake.gender)


def speaks(voice: Voice, language: str) -> bool:
    """Whether a catalog voice can speak `language` (a base code)."""
    try:
        return engine_class(voice.engine).speaks(voice.language, language)
    except EngineError:
        return False


def default_voice(text: str = "", gender: str = "") -> Voice:
    """The voice that speaks `text` when the client named none: the configured default of the
    text's language (TTS_DEFAULT_VOICES, TTS_DEFAULT_VOICE for its own language), else a voice
    native to it, else any voice that can speak it; of `gender` where one is."""
    language = detect(text) if text.strip() else "en"
    enabled = [v for v in usable().order_by("-is_builtin", "name") if proven(v)]
    by_name = {v.name: v for v in enabled}
    preferred = [settings.TTS_DEFAULT_VOICES.get(f"{language}.{gender}") if gender else None,
                 settings.TTS_DEFAULT_VOICES.get(language)]
    own = by_name.get(settings.TTS_DEFAULT_VOICE)
    if own is not None and base(own.language) in ("", language):
        preferred.insert(0, own.name)
    configured = [by_name[n] for n in preferred if n in by_name and speaks(by_name[n], language)]
    natives = [v for v in enabled if base(v.language) == language and speaks(v, language)]
    speakers = [v for v in enabled if speaks(v, language)]
    # A native speaker of the language first (of the gender when there is one), an accent last.
    for group in ([*configured, *natives], speakers):
        for voice in [v for v in group if not gender or v.gender == gender] + group:
            return voice
    if not enabled:
        raise VoiceNotFound("no voice is installed")
    raise LanguageNotSupported(f"no installed voice can speak {language_name(language)}", field="text")


def proven(voice: Voice) -> bool:
    """Whether a voice is known to speak: an engine's own, or one that passed its test phrase when it
    was added (its latent or sample is stored). Only these become anyone's default."""
    return voice.is_builtin or bool(voice.latent) or bool(voice.sample_audio)


def page_default_voice(text: str = "") -> str | None:
    """The voice the web page preselects: the default for `text`, else the server's own default."""
    for candidate in (text, ""):
        try:
            return default_voice(candidate).name
        except TTSError:
            continue
    return None


def voices_speaking(language: str, limit: int = 8) -> list[str]:
    """Names of enabled voices that can speak `language`, native speakers first."""
    enabled = [v for v in usable().order_by("-is_builtin", "name") if speaks(v, language)]
    enabled.sort(key=lambda v: base(v.language) != language)
    return [v.name for v in enabled[:limit]]


def check_languages(turns) -> None:
    """Refuse (LanguageNotSupported, naming who can) a turn whose voice cannot speak its text."""
    for turn in turns:
        try:
            engine = engine_class(turn.voice.engine)
        except EngineError:
            continue  # an engine this process does not know is the dispatcher's to refuse
        for language in languages_in(turn.text, turn.voice.language):
            if engine.speaks(turn.voice.language, language):
                continue
            others = voices_speaking(language)
            who = f"voices that can: {', '.join(others)}" if others else "no installed voice can"
            raise LanguageNotSupported(f"voice {turn.voice.name!r} cannot speak {language_name(language)}; {who}",
                                       field="voice")


def blend_language(engine: str, spec: str) -> str:
    """A blend speaks with the accent of its first voice."""
    parts = [p.split("(")[0].strip() for p in spec.split("+")]
    first = Voice.objects.filter(engine=engine, engine_voice=parts[0], is_builtin=True).first() if parts else None
    return first.language if first else ""


def blend_engine_name(spec: str) -> str | None:
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
    engine = blend_engine_name(spec)
    if engine is None:
        raise InvalidInput(f"blend {spec!r} names voices no engine can blend", field="blend")
    language = blend_language(engine, spec)
    sample = speak_test_phrase(VoiceRef(name, engine, spec, language), "blend")
    voice = Voice(name=name, engine=engine, engine_voice=spec, language=language,
                  description=f"Blend of {spec}", **{"created_by": created_by, **ownership()})
    return _save_new(voice, {"sample_audio": (f"{_slug(name)}.sample.mp3", sample)})


def speak_test_phrase(ref: VoiceRef, field: str, language: str = "") -> bytes:
    """The voice speaking a short sample sentence, as mp3; VoiceUnusable (and nothing is saved) when
    it cannot. Every voice added from audio or a blend passes this first."""
    from synthesis import services as synthesis_services
    from synthesis.audio.encoders import encode_all

    language = language or base(ref.language) or "en"
    text = SAMPLE_SENTENCES.get(language, SAMPLE_SENTENCES["en"])
    try:
        engine = synthesis_services.load_engine(ref.engine)
        extra = {"latent": ref.latent} if ref.latent else {}
        audio = np.asarray(engine.synthesize(text, ref.voice_id, language=language, **extra), dtype=np.float32)
    except Exception as e:  # whatever the engine says, the voice must not be saved
        logger.exception("voice %r failed its test phrase", ref.name)
        raise VoiceUnusable(f"the voice made from this {field} cannot speak ({e}); it was not saved",
                            field=field) from e
    if (audio.size < engine.sample_rate * 0.3 or not np.isfinite(audio).all()
            or float(np.sqrt(np.mean(audio ** 2))) < 1e-4):
        raise VoiceUnusable(f"the voice made from this {field} spoke no audible test phrase; it was not saved",
                            field=field)
    return b"".join(encode_all("mp3", engine.sample_rate, [audio]))


def _save_new(voice: Voice, files: dict[str, tuple[str, bytes]]) -> Voice:
    """Save a new voice with its files in one step: a taken name is 409, and nothing half-written stays."""
    try:
        with transaction.atomic():
            voice.save()
            for field, (filename, data) in files.items():
                getattr(voice, field).save(filename, ContentFile(data), save=False)
            voice.save()
    except IntegrityError as e:
        _delete_files(voice)
        raise Conflict(f"voice {voice.name!r} already exists", field="name") from e
    except Exception:
        _delete_files(voice)
        raise
    return voice


async def aresolve_voice(name: str, *, text: str = "", openai_aliases: bool = False) -> VoiceRef:
    from asgiref.sync import sync_to_async

    return await sync_to_async(resolve_voice)(name, text=text, openai_aliases=openai_aliases)


def sync_builtin_voices(engines: dict[str, Engine]) -> int:
    """Register every voice of the loaded engines once (refreshing what the engine says of the ones
    registered before: language, gender, description); returns how many were added."""
    added = 0
    for engine in engines.values():
        for ev in engine.voices():
            existing = Voice.objects.filter(engine=engine.name, engine_voice=ev.id, is_builtin=True)
            if existing.exists():
                existing.exclude(language=ev.language, gender=ev.gender, description=ev.description).update(
                    language=ev.language, gender=ev.gender, description=ev.description)
                continue
            name = ev.id if not Voice.objects.filter(name=ev.id).exists() else f"{engine.name}-{ev.id}"
            Voice.objects.create(name=name, engine=engine.name, engine_voice=ev.id, language=ev.language,
                                 gender=ev.gender, description=ev.description, is_builtin=True,
                                 created_by="system")
            added += 1
    return added


def add_voice(name: str, prepared, reference_text: str = "", *, created_by: str = "api", consent: str = "",
              language: str = "", gender: str = "") -> Voice:
    """Store a prepared reference and its latent (for the clone engine) as a new catalog voice.

    The latent is computed once here, so speaking with the voice never analyses it again. Every
    path that adds a voice from audio (the APIs, the admin, role imports) comes here. `consent`:
    the statement the speaker agreed to, stored with who sent it and when.
    """
    from synthesis import services as synthesis_services

    name = (name or "").strip()
    if not name or len(name) > 255:
        raise InvalidInput("name must be 1-255 characters", field="name")
    engine = synthesis_services.clone_engine()
    latent_text = synthesis_services.reference_latent(prepared, engine, reference_text or "")
    spoken = base(language) if language else detect(reference_text) if (reference_text or "").strip() else "en"
    sample = speak_test_phrase(VoiceRef(name, engine.name, "", language, latent_text), "audio", spoken)
    consent = (consent or "").strip()
    owned = {"created_by": created_by, **ownership()}  # a person's key: its name, and the voice is theirs
    voice = Voice(name=name, engine=engine.name, engine_voice="", language=language, gender=gender,
                  reference_text=reference_text or "", consent_statement=consent,
                  consent_by=owned["created_by"] if consent else "", consent_at=timezone.now() if consent else None,
                  **owned,
                  description=f"Cloned from reference audio ({prepared.duration:.1f} s) by timbre matching on "
                              f"{engine.name}.")
    return _save_new(voice, {"reference_audio": (f"{_slug(name)}.wav", prepared.wav_bytes()),
                             "latent": (f"{_slug(name)}.latent.npz", base64.b64decode(latent_text)),
                             "sample_audio": (f"{_slug(name)}.sample.mp3", sample)})


def _delete_files(voice: Voice) -> None:
    for f in (voice.reference_audio, voice.latent, voice.sample_audio):
        if f:
            f.delete(save=False)


def delete_voice(name: str, field: str = "name", label: str = "voice") -> None:
    """Delete a voice the caller may change (see `changeable`) and its files."""
    voice = changeable(name, field, label, deleting=True)
    files = [f for f in (voice.reference_audio, voice.latent, voice.sample_audio) if f]
    with transaction.atomic():
        voice.delete()
    for f in files:
        f.storage.delete(f.name)


def role_names() -> list[str]:
    return list(usable().values_list("name", flat=True))


def catalog() -> list[dict]:
    """Every enabled voice with what a client chooses by: language (and its name), gender, engine."""
    return [{"id": v.name, "name": v.name, "engine": v.engine, "language": v.language,
             "language_name": language_name(v.language) if v.language else "", "gender": v.gender,
             "builtin": v.is_builtin, "kind": v.kind, "description": v.description,
             "preview_url": f"/voices/{quote(v.name, safe='')}/preview"}
            for v in usable()]


def language_defaults() -> dict[str, str]:
    """The voice that speaks each language when the client names none."""
    languages = {base(v) for v in usable().values_list("language", flat=True) if v}
    defaults = {}
    for language in sorted(languages & set(SAMPLE_SENTENCES)):
        try:
            defaults[language] = default_voice(SAMPLE_SENTENCES[language]).name
        except (VoiceNotFound, LanguageNotSupported):
            continue
    return defaults


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
        except TTSError as e:
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
    """Rename a catalog voice the caller may change; 404 if absent, 409 if the new name is taken."""
    voice = changeable(old, "old_reference_id", "Reference voice")
    voice.name = new
    try:
        with transaction.atomic():
            voice.save(update_fields=["name", "updated_at"])
    except IntegrityError as e:
        raise Conflict(f"Reference voice '{new}' already exists", field="new_reference_id") from e
    return voice
