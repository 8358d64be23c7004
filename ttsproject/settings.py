"""Settings, all from the environment; the defaults make the first run work.

SQLite, local media and in-process dispatch unless DATABASE_URL / REDIS_URL say otherwise.
Any variable may instead be read from a file named by VARIABLE_FILE (secrets).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("TTS_DATA_DIR", BASE_DIR / "data"))
DATA_DIR.mkdir(parents=True, exist_ok=True)  # SQLite and media live here by default

env = environ.Env()


def _secret(name: str, default: str = "") -> str:
    """A value from NAME, or from the file NAME_FILE points at."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {e}") from e
    return os.environ.get(name, default)


def _int(name: str, default: int, minimum: int = 0) -> int:
    try:
        value = env.int(name, default=default)
    except (ValueError, TypeError) as e:
        raise ImproperlyConfigured(f"{name} must be an integer, got {os.environ.get(name)!r}") from e
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError as e:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from e
    if not value >= minimum:  # also refuses nan
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _generated_secret_key() -> str:
    """A random key made on first start and kept in TTS_DATA_DIR (readable by this user only)."""
    import secrets

    path = DATA_DIR / "secret_key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key)
        return key


# TTS_PRODUCTION=1: the deployment profile (`manage.py check --deploy` clean): a key, named hosts,
# HTTPS-only cookies, HSTS and a redirect to HTTPS (behind a TLS proxy that sets X-Forwarded-Proto).
TTS_PRODUCTION = _bool("TTS_PRODUCTION", False)
DEBUG = _bool("DJANGO_DEBUG", False)
SECRET_KEY = _secret("DJANGO_SECRET_KEY") or _generated_secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
if TTS_PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("TTS_PRODUCTION: DJANGO_DEBUG must be off")
    if not os.environ.get("DJANGO_ALLOWED_HOSTS") or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("TTS_PRODUCTION: set DJANGO_ALLOWED_HOSTS to the names this server answers to")
    if not _secret("TTS_API_KEY"):
        raise ImproperlyConfigured("TTS_PRODUCTION: set TTS_API_KEY (or TTS_API_KEY_FILE)")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _bool("TTS_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^(healthz|health|liveness|readiness|metrics)$"]  # probes speak plain HTTP
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = _int("TTS_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = _bool("TTS_HSTS_PRELOAD", True)
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Browser origins allowed to call the API cross-site (CORS; never the admin). Empty: none.
TTS_CORS_ALLOWED_ORIGINS = env.list("TTS_CORS_ALLOWED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "voices",
    "synthesis",
    "tasks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "synthesis.api.crosssite.CrossSiteMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "synthesis.api.access.ApiKeyMiddleware",
    "synthesis.api.middleware.MetricsAndLimitsMiddleware",
]
# Under daphne, API paths (all behind the key) go through a handler of their own with only what
# they need: Django's sync middleware above would each hop to Django's one sync thread twice per
# request (synthesis/api/handler.py). The page, docs, admin and static files keep MIDDLEWARE.
TTS_API_MIDDLEWARE = [
    "synthesis.api.handler.SecurityMiddleware",
    "synthesis.api.handler.ContentLengthMiddleware",
    "synthesis.api.crosssite.CrossSiteMiddleware",
    "synthesis.api.access.ApiKeyMiddleware",
    "synthesis.api.middleware.MetricsAndLimitsMiddleware",
]
APPEND_SLASH = False

ROOT_URLCONF = "ttsproject.urls"
ASGI_APPLICATION = "ttsproject.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Transactions take the write lock when they begin (IMMEDIATE): a transaction that has read
    # and then writes cannot be refused at once ("database is locked") while a task thread or the
    # usage flusher holds the lock; it waits up to `timeout` seconds like any other writer. WAL
    # lets readers go on while a writer commits.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;")
    # A file, not shared-cache memory: task threads write while tests read, and only a file
    # database waits for a lock instead of failing with "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "static/"
WHITENOISE_USE_FINDERS = True  # serve app static files without a collectstatic step
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# S3-compatible media (reference audio, latents, samples, task results) through django-storages.
TTS_S3_BUCKET = env.str("TTS_S3_BUCKET", default="")
if TTS_S3_BUCKET:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": TTS_S3_BUCKET,
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
        "access_key": _secret("AWS_ACCESS_KEY_ID") or None,
        "secret_key": _secret("AWS_SECRET_ACCESS_KEY") or None,
        "location": env.str("TTS_S3_PREFIX", default=""),
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": True,
    }}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "synthesis.api.msgpack.ObjectJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ttsproject",
    "DESCRIPTION": "Flash-TTS, OpenAI, Fish Speech, LightTTS and OpenSpeech dialects over one TTS pipeline. "
                   "The two WebSocket protocols are described in [WebSocket protocols](/docs/websockets).",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "synthesis.api.schema.add_probes"],
    "VERSION": "1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SECURITY": [{"bearer": []}],
    "APPEND_COMPONENTS": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "ENUM_NAME_OVERRIDES": {"LevelEnum": "synthesis.api.common.LEVELS"},  # pitch and speed share it
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- the TTS service -----------------------------------------------------------
TTS_ENGINES = env.list("TTS_ENGINES", default=["piper", "kokoro"])
# The voice that speaks a text in a language when the client names none (or a dialect's fallback
# applies): language -> voice, and language.gender -> voice for the female/male presets.
DEFAULT_VOICES = ("en=af_heart,en.male=am_michael,zh=zf_xiaobei,zh.male=zm_yunxi,ja=jf_alpha,ja.male=jm_kumo,"
                  "es=ef_dora,es.male=em_alex,fr=ff_siwis,hi=hf_alpha,hi.male=hm_omega,it=if_sara,"
                  "it.male=im_nicola,pt=pf_dora,pt.male=pm_alex")


def _mapping(name: str, default: str) -> dict[str, str]:
    """'en=af_heart,zh=zf_xiaobei' -> {'en': 'af_heart', 'zh': 'zf_xiaobei'}; entries override the defaults."""
    mapping = {}
    for raw in (default, os.environ.get(name, "")):
        for item in raw.split(","):
            if not item.strip():
                continue
            key, sep, voice = item.partition("=")
            if not sep or not key.strip() or not voice.strip():
                raise ImproperlyConfigured(f"{name}: expected key=value entries, got {item.strip()!r}")
            mapping[key.strip()] = voice.strip()
    return mapping


TTS_DEFAULT_VOICES = {k.lower(): v for k, v in _mapping("TTS_DEFAULT_VOICES", DEFAULT_VOICES).items()}
# One voice preferred for its own language above TTS_DEFAULT_VOICES (e.g. joe for English).
TTS_DEFAULT_VOICE = env.str("TTS_DEFAULT_VOICE", default="")
TTS_API_KEY = _secret("TTS_API_KEY")
# Synthesis threads; with TTS_ORT_THREADS=0 each gets cores / TTS_WORKERS onnxruntime threads.
# One thread per core serves concurrent requests best (see ./scripts/bench scale); a single
# listener gets its first audio soonest with TTS_WORKERS=1.
TTS_WORKERS = _int("TTS_WORKERS", os.cpu_count() or 1, minimum=1)
TTS_MAX_AHEAD = _int("TTS_MAX_AHEAD", 4, minimum=1)  # segments a job may run ahead of its reader
# A job whose reader took nothing for this long while the job waited on it is cancelled.
TTS_READER_TIMEOUT = _int("TTS_READER_TIMEOUT", 60, minimum=1)
TTS_ORT_THREADS = _int("TTS_ORT_THREADS", 0)  # 0: cores / TTS_WORKERS
TTS_MAX_TEXT_LENGTH = _int("TTS_MAX_TEXT_LENGTH", 1000, minimum=1)
TTS_MAX_UPLOAD_BYTES = _int("TTS_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1024)
TTS_MAX_REFERENCE_SECONDS = _int("TTS_MAX_REFERENCE_SECONDS", 30, minimum=1)
TTS_ROLE_DIR = env.str("TTS_ROLE_DIR", default="")
TTS_SEED = _int("TTS_SEED", 0)
TTS_CACHE_DIR = env.str("TTS_CACHE_DIR", default=str(DATA_DIR / "cache"))
# Installed voice data shared by every server of this Python environment (outside the repository):
# Kokoro's voicepacks (manage.py install_voices) and the base-voice profiles cloning measures once.
TTS_VOICE_DATA_DIR = Path(env.str("TTS_VOICE_DATA_DIR", default=str(Path(sys.prefix) / "share" / "ttsproject")))
TTS_PROFILES_DIR = TTS_VOICE_DATA_DIR / "profiles"
# The LLM engines (Orpheus; requirements-llm.txt or requirements-gpu.txt) share these; the
# serve command's --backend, --llm_device, ... set them (and its cluster workers inherit them).
TTS_LLM_OPTIONS = {
    "backend": env.str("TTS_LLM_BACKEND", default="torch"),
    "llm_device": env.str("TTS_LLM_DEVICE", default="auto"),
    "tokenizer_device": env.str("TTS_TOKENIZER_DEVICE", default="auto"),
    "detokenizer_device": env.str("TTS_DETOKENIZER_DEVICE", default="auto"),
    "torch_dtype": env.str("TTS_TORCH_DTYPE", default="auto"),
    "max_length": _int("TTS_MAX_LENGTH", 8192, minimum=16),
    "llm_gpu_memory_utilization": _float("TTS_LLM_GPU_MEMORY_UTILIZATION", 0.6),
    "llm_batch_size": _int("TTS_LLM_BATCH_SIZE", 8, minimum=1),
    "batch_size": _int("TTS_BATCH_SIZE", 1, minimum=1),
    "wait_timeout": _float("TTS_WAIT_TIMEOUT", 0.01),
    "seed": TTS_SEED,
    "enforce_eager": _bool("TTS_VLLM_ENFORCE_EAGER", False),
    "llm_attn_implementation": env.str("TTS_LLM_ATTN_IMPLEMENTATION", default=""),
    "wav2vec_attn_implementation": env.str("TTS_WAV2VEC_ATTN_IMPLEMENTATION", default=""),
    "cache_implementation": env.str("TTS_CACHE_IMPLEMENTATION", default=""),
}
TTS_ENGINE_OPTIONS = {
    "orpheus": {"model_path": env.str("ORPHEUS_MODEL_PATH", default=""),
                "snac_path": env.str("SNAC_PATH", default=""), **TTS_LLM_OPTIONS},
    # A local copy of the Spark-TTS release: config.yaml, BiCodec/, LLM/, wav2vec2-large-xlsr-53/.
    "spark": {"model_path": env.str("SPARK_MODEL_PATH", default=""), **TTS_LLM_OPTIONS},
    "piper": {"voices_dir": env.str("PIPER_VOICES_DIR", default=""), "profiles_dir": str(TTS_PROFILES_DIR)},
    "kokoro": {"voices_dir": env.str("KOKORO_VOICES_DIR", default=""),
               "voicepacks_dir": env.str("KOKORO_VOICEPACKS_DIR", default=str(TTS_VOICE_DATA_DIR / "kokoro-voices")),
               "profiles_dir": str(TTS_PROFILES_DIR),
               "model_path": env.str("KOKORO_MODEL_PATH", default=""),
               "cache_dir": env.str("KOKORO_CACHE_DIR", default=str(Path(TTS_CACHE_DIR) / "kokoro"))},
}
# Engine that speaks cloned voices (/clone_voice, voice=<audio>, voices added from audio).
TTS_CLONE_ENGINE = env.str("TTS_CLONE_ENGINE", default="kokoro")
# WORLD timbre conversion of cloned speech toward the reference: the engine's choice (Piper on, Kokoro
# off), or on / off for every engine.
TTS_CLONE_TIMBRE_CONVERSION = env.str("TTS_CLONE_TIMBRE_CONVERSION", default="auto")
for _engine in ("piper", "kokoro"):
    TTS_ENGINE_OPTIONS[_engine]["timbre_conversion"] = TTS_CLONE_TIMBRE_CONVERSION
# Hosts a user-supplied reference URL may resolve to although they are private (tests only).
TTS_URL_ALLOWLIST = env.list("TTS_URL_ALLOWLIST", default=[])
TTS_URL_TIMEOUT = _float("TTS_URL_TIMEOUT", 10.0)  # the whole fetch, however slowly it trickles
TTS_URL_FETCHERS = _int("TTS_URL_FETCHERS", 4, minimum=1)  # reference downloads at once; more: 503

# Request bodies: the ASGI guard refuses (413) past these before Django reads them; Django's own
# caps sit just above, so its plain-HTML 400 is never what a client sees.
TTS_MAX_BODY_BYTES = _int("TTS_MAX_BODY_BYTES", 2 * 1024 * 1024, minimum=1024)  # paths without audio
DATA_UPLOAD_MAX_MEMORY_SIZE = TTS_MAX_UPLOAD_BYTES * 4 // 3 + 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- async tasks and Celery ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
TTS_TASK_THREADS = _int("TTS_TASK_THREADS", 2, minimum=1)  # in-process task runners (no REDIS_URL)
TTS_TASK_STALE_SECONDS = _int("TTS_TASK_STALE_SECONDS", 120, minimum=5)
TTS_TASK_RETENTION_HOURS = _int("TTS_TASK_RETENTION_HOURS", 24, minimum=1)
TTS_MAX_TASK_TEXT_LENGTH = _int("TTS_MAX_TASK_TEXT_LENGTH", 200_000, minimum=1)  # a chapter per async task
TTS_MAX_ACTIVE_TASKS = _int("TTS_MAX_ACTIVE_TASKS", 100, minimum=1)  # pending + running; past it 503
TTS_TASK_MAX_ATTEMPTS = _int("TTS_TASK_MAX_ATTEMPTS", 3, minimum=1)  # runs of one task before it fails
# Admission control: past either bound new requests get 503 with Retry-After.
TTS_MAX_ACTIVE_JOBS = _int("TTS_MAX_ACTIVE_JOBS", 256, minimum=1)
TTS_MAX_QUEUED_SECONDS = _int("TTS_MAX_QUEUED_SECONDS", 3600, minimum=1)
TTS_QUEUE_TIMEOUT = _float("TTS_QUEUE_TIMEOUT", 120.0)  # no worker took a job: give up
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {"queue_order_strategy": "priority", "priority_steps": list(range(10)),
                                   "visibility_timeout": 300}
CELERY_TASK_DEFAULT_PRIORITY = 5
CELERY_TASK_ROUTES = {"tasks.tasks.sweep_tasks": {"queue": "tts"}}
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "tts"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {"sweep-tasks": {"task": "tasks.tasks.sweep_tasks", "schedule": 60.0}}

# --- realtime dialects, limits, metrics ------------------------------------------
TTS_LIGHTTTS_SAMPLE_RATE = _int("TTS_LIGHTTTS_SAMPLE_RATE", 16000, minimum=8000)
# Raw PCM and streamed WAV leave at the rate each dialect's example clients play them at.
TTS_FLASHTTS_SAMPLE_RATE = _int("TTS_FLASHTTS_SAMPLE_RATE", 16000, minimum=8000)
TTS_FISH_SAMPLE_RATE = _int("TTS_FISH_SAMPLE_RATE", 44100, minimum=8000)
TTS_OPENAI_SAMPLE_RATE = _int("TTS_OPENAI_SAMPLE_RATE", 24000, minimum=8000)
# LightTTS clients name upstream models (the spec's CosyVoice2): model name -> engine, or `default`
# for the clone engine. Listed by /query_tts_model before the engines' own names.
TTS_LIGHTTTS_MODELS = _mapping("TTS_LIGHTTTS_MODELS", "CosyVoice2=default,CosyVoice3=default")
TTS_WS_MAX_CONNECTIONS = _int("TTS_WS_MAX_CONNECTIONS", 100, minimum=1)
TTS_BISTREAM_IDLE_FLUSH = _float("TTS_BISTREAM_IDLE_FLUSH", 0.6)
# Per-client-IP rate limit, e.g. "10/minute" (the LightTTS production setting); empty: off.
TTS_RATE_LIMIT = env.str("TTS_RATE_LIMIT", default="")
TTS_USAGE_FLUSH_SECONDS = _int("TTS_USAGE_FLUSH_SECONDS", 5)  # API keys' usage is written in batches
TTS_RATE_LIMIT_SCOPE = env.str("TTS_RATE_LIMIT_SCOPE", default="unauthenticated")
if TTS_RATE_LIMIT_SCOPE not in ("unauthenticated", "all"):
    raise ImproperlyConfigured("TTS_RATE_LIMIT_SCOPE must be 'unauthenticated' or 'all'")
# Output cache of encoded answers (synthesis/audio_cache.py): bytes it may hold; 0 turns it off.
TTS_AUDIO_CACHE_BYTES = _int("TTS_AUDIO_CACHE_BYTES", 512 * 1024 * 1024, minimum=0)
