"""Start the server: check flags, load engines, register voices, serve with daphne."""
from __future__ import annotations

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from synthesis import services
from synthesis.engines.base import EngineError, EngineOptions
from synthesis.engines.llm.config import BACKENDS, UNSUPPORTED_BACKENDS, LLMConfig
from synthesis.engines.registry import ENGINE_PATHS
from synthesis.errors import TTSError

# --backend: the embedded engines run on onnxruntime; the LLM engines on torch or vllm.
EMBEDDED_BACKEND = "onnxruntime"
# Flags of the LLM engines: (setting key, environment variable cluster workers inherit, type).
LLM_FLAGS = {
    "snac_path": ("snac_path", "SNAC_PATH", str),
    "torch_dtype": ("torch_dtype", "TTS_TORCH_DTYPE", str),
    "max_length": ("max_length", "TTS_MAX_LENGTH", int),
    "llm_gpu_memory_utilization": ("llm_gpu_memory_utilization", "TTS_LLM_GPU_MEMORY_UTILIZATION", float),
    "llm_batch_size": ("llm_batch_size", "TTS_LLM_BATCH_SIZE", int),
    "batch_size": ("batch_size", "TTS_BATCH_SIZE", int),
    "wait_timeout": ("wait_timeout", "TTS_WAIT_TIMEOUT", float),
    "llm_device": ("llm_device", "TTS_LLM_DEVICE", str),
    "tokenizer_device": ("tokenizer_device", "TTS_TOKENIZER_DEVICE", str),
    "detokenizer_device": ("detokenizer_device", "TTS_DETOKENIZER_DEVICE", str),
    "llm_attn_implementation": ("llm_attn_implementation", "TTS_LLM_ATTN_IMPLEMENTATION", str),
    "wav2vec_attn_implementation": ("wav2vec_attn_implementation", "TTS_WAV2VEC_ATTN_IMPLEMENTATION", str),
    "cache_implementation": ("cache_implementation", "TTS_CACHE_IMPLEMENTATION", str),
}


def is_llm_engine(name: str) -> bool:
    return ".engines.llm." in ENGINE_PATHS.get(name, "")


def is_spark_release(path: str | None) -> bool:
    return bool(path) and os.path.isfile(os.path.join(path, "BiCodec", "config.yaml"))


class Command(BaseCommand):
    help = "Serve the TTS API with daphne on the configured engines"
    worker_concurrency = 1

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (default: this machine only; 0.0.0.0 for every interface)")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--engine", action="append", dest="engines",
                            help=f"engine to load (repeatable); known: {', '.join(sorted(ENGINE_PATHS))}")
        parser.add_argument("--model_path", help="model file for the first engine (kokoro: an ONNX file)")
        parser.add_argument("--backend", default=None,
                            help=f"{EMBEDDED_BACKEND} (the embedded engines) or an LLM backend: "
                                 f"{', '.join(BACKENDS)}; --backend torch|vllm alone serves orpheus, or "
                                 "spark when --model_path is a Spark-TTS release")
        parser.add_argument("--role_dir", help="import this role directory at start")
        parser.add_argument("--api_key", help="require Authorization: Bearer <key>")
        for flag, (_key, _env, kind) in LLM_FLAGS.items():
            parser.add_argument(f"--{flag}", type=kind, default=None,
                                help="LLM engines (see README: GPU engines)")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
        parser.add_argument("--worker-threads", type=int, default=None, dest="worker_threads",
                            help="synthesis threads of the in-process dispatcher")
        parser.add_argument("--workers", type=int, default=0,
                            help="start a local cluster: a redis-server (unless REDIS_URL is set) and this many "
                                 "Celery worker processes; this process only relays")
        parser.add_argument("--skip-migrate", action="store_true")

    def handle(self, **opts):
        self._apply(opts)
        if not opts["skip_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        try:
            engines = services.load_engines()
        except TTSError as e:
            raise CommandError(f"cannot start: {e}") from e
        from voices.services import sync_builtin_voices

        added = sync_builtin_voices(engines)
        self.stdout.write(f"engines: {', '.join(f'{n} ({e.sample_rate} Hz)' for n, e in engines.items())}; "
                          f"{added} new built-in voices")
        if any(getattr(e, "voicepacks_installed", True) is False for e in engines.values()):
            from synthesis.engines.voicepacks import HOW_TO_INSTALL

            self.stderr.write(self.style.WARNING(HOW_TO_INSTALL))
        from synthesis.text.language import identifier

        identifier()  # the language identifier loads now, not on the first request
        if opts["role_dir"]:
            call_command("import_roles", opts["role_dir"])
        from tasks import services as task_services

        resumed = task_services.resume_after_restart()
        if resumed:
            self.stdout.write(f"{resumed} task(s) left unfinished by the last run resumed")
        task_services.start_sweeper()
        if opts["workers"]:
            self._start_cluster(opts["workers"], opts)
        services.get_dispatcher()
        self._serve(opts["host"], opts["port"])

    def _apply(self, opts):
        backend = opts["backend"] or EMBEDDED_BACKEND
        if backend in UNSUPPORTED_BACKENDS:
            raise CommandError(f"--backend {backend!r} is not available: {UNSUPPORTED_BACKENDS[backend]}")
        if backend not in (EMBEDDED_BACKEND, *BACKENDS):
            raise CommandError(f"--backend {backend!r} is not available; {EMBEDDED_BACKEND} (embedded engines) "
                               f"or {', '.join(BACKENDS)} (LLM engines)")
        if opts["engines"]:
            unknown = [e for e in opts["engines"] if e not in ENGINE_PATHS]
            if unknown:
                raise CommandError(f"unknown engine {unknown[0]!r}; known: {', '.join(sorted(ENGINE_PATHS))}")
            settings.TTS_ENGINES = opts["engines"]
        elif backend in BACKENDS:
            settings.TTS_ENGINES = ["spark" if is_spark_release(opts["model_path"]) else "orpheus"]
        llm = [e for e in settings.TTS_ENGINES if is_llm_engine(e)]
        if backend in BACKENDS and not llm:
            raise CommandError(f"--backend {backend} runs the LLM engines (orpheus, spark); none is enabled")
        if llm:
            self._apply_llm(opts, backend if backend in BACKENDS else None, llm)
        else:
            for flag in ("llm_device", "tokenizer_device", "detokenizer_device"):
                if opts[flag] not in (None, "auto", "cpu"):
                    raise CommandError(f"--{flag} {opts[flag]!r}: the embedded engines run on cpu")
        if opts["model_path"]:
            if not os.path.exists(opts["model_path"]):
                raise CommandError(f"--model_path {opts['model_path']!r} does not exist")
            first = settings.TTS_ENGINES[0]
            settings.TTS_ENGINE_OPTIONS.setdefault(first, {})["model_path"] = opts["model_path"]
            os.environ[f"{first.upper()}_MODEL_PATH"] = opts["model_path"]  # cluster workers
        if opts["api_key"]:
            settings.TTS_API_KEY = opts["api_key"]
        if opts["seed"] is not None:
            settings.TTS_SEED = opts["seed"]
        if opts["threads"] is not None:
            settings.TTS_ORT_THREADS = opts["threads"]
        if opts["worker_threads"] is not None:
            settings.TTS_WORKERS = opts["worker_threads"]
        if opts["workers"] < 0:
            raise CommandError("--workers must be 0 or more")

    def _apply_llm(self, opts, backend: str | None, engines: list[str]) -> None:
        """LLM flags into the engines' options and the environment (cluster workers inherit it)."""
        values = {key: opts[flag] for flag, (key, _env, _kind) in LLM_FLAGS.items()
                  if opts[flag] is not None}
        if backend:
            values["backend"] = backend
        if opts["seed"] is not None:
            values["seed"] = opts["seed"]
        for key, env_name, _kind in LLM_FLAGS.values():
            if key in values:
                os.environ[env_name] = str(values[key])
        if "backend" in values:
            os.environ["TTS_LLM_BACKEND"] = values["backend"]
        if values.get("snac_path") and not os.path.isdir(values["snac_path"]):
            raise CommandError(f"--snac_path {values['snac_path']!r} is not a directory")
        settings.TTS_LLM_OPTIONS.update({k: v for k, v in values.items() if k != "snac_path"})
        for engine in engines:
            options = settings.TTS_ENGINE_OPTIONS.setdefault(engine, {})
            options.update(values)
            try:
                LLMConfig.from_options(EngineOptions(model_path=options.get("model_path", ""), extra=dict(options)))
            except EngineError as e:
                raise CommandError(f"cannot start: {e}") from e
        # Requests decode together only if that many synthesis threads wait on the LLM at once.
        batch = int(settings.TTS_LLM_OPTIONS.get("llm_batch_size", 1))
        if opts["worker_threads"] is None:
            settings.TTS_WORKERS = max(settings.TTS_WORKERS, batch)
        self.worker_concurrency = batch

    def _start_cluster(self, count: int, opts):
        """redis-server (unless REDIS_URL is set) and `count` Celery workers, stopped with this process."""
        import atexit
        from pathlib import Path

        from ttsproject.celery import app
        from ttsproject.processes import CeleryWorker, RedisServer, WorkerPool

        workdir = Path(settings.DATA_DIR) / "cluster"
        workdir.mkdir(parents=True, exist_ok=True)
        children = []
        if not settings.REDIS_URL:
            redis = RedisServer(workdir).start()
            children.append(redis)
            settings.REDIS_URL = redis.url
        app.conf.broker_url = settings.REDIS_URL
        threads = opts["threads"] or max(1, (os.cpu_count() or 1) // count)
        env = {"REDIS_URL": settings.REDIS_URL, "TTS_DATA_DIR": str(settings.DATA_DIR),
               "TTS_ENGINES": ",".join(settings.TTS_ENGINES), "TTS_ORT_THREADS": str(threads)}
        if self.worker_concurrency > 1:
            env["TTS_WORKERS"] = str(self.worker_concurrency)
        workers = WorkerPool(lambda name: CeleryWorker(workdir, env, name=name, concurrency=self.worker_concurrency),
                             count)
        atexit.register(lambda: (workers.stop(), [child.stop() for child in reversed(children)]))
        workers.wait_ready(timeout=180)
        workers.supervise()
        self.stdout.write(f"cluster: {count} Celery worker(s) on {settings.REDIS_URL}; logs in {workdir}")

    def _serve(self, host: str, port: int):
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        from ttsproject import daphne_errors

        daphne_errors.install()

        from ttsproject.asgi import application

        self.stdout.write(f"serving on http://{host}:{port}/")
        # A WebSocket message up to twice the upload limit reaches the consumer, which closes 4413 past
        # the limit itself; beyond that the WebSocket layer closes with 1009 (message too big).
        ws_max = 2 * settings.TTS_MAX_UPLOAD_BYTES
        Server(application=application,
               endpoints=build_endpoint_description_strings(host=host, port=port),
               http_timeout=None, websocket_timeout=86400, application_close_timeout=10,
               websocket_max_message_size=ws_max, websocket_max_frame_size=ws_max,
               server_name="ttsproject").run()
