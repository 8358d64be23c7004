"""Start the server: check flags, load engines, register voices, serve with daphne."""
from __future__ import annotations

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from synthesis import services
from synthesis.engines.registry import ENGINE_PATHS
from synthesis.errors import TTSError

# The seed's LLM backends need the GPU engine family; the embedded engines run on onnxruntime.
EMBEDDED_BACKEND = "onnxruntime"
SEED_BACKENDS = ("vllm", "sglang", "torch", "llama-cpp", "mlx-lm")


class Command(BaseCommand):
    help = "Serve the TTS API with daphne on the configured engines"

    def add_arguments(self, parser):
        parser.add_argument("--host", default="0.0.0.0")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--engine", action="append", dest="engines",
                            help=f"engine to load (repeatable); known: {', '.join(sorted(ENGINE_PATHS))}")
        parser.add_argument("--model_path", help="model file for the first engine (kokoro: an ONNX file)")
        parser.add_argument("--backend", default=EMBEDDED_BACKEND)
        parser.add_argument("--role_dir", help="import this role directory at start")
        parser.add_argument("--api_key", help="require Authorization: Bearer <key>")
        for flag in ("--llm_device", "--tokenizer_device", "--detokenizer_device"):
            parser.add_argument(flag, default="auto", help="auto or cpu for the embedded engines")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--batch_size", type=int, default=1,
                            help="accepted; the embedded ONNX engines synthesize one segment per call")
        parser.add_argument("--wait_timeout", type=float, default=0.01, help="accepted; see --batch_size")
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
        if opts["role_dir"]:
            call_command("import_roles", opts["role_dir"])
        from tasks import services as task_services

        orphans = task_services.fail_orphans_of_this_process_mode()
        if orphans:
            self.stdout.write(f"{orphans} task(s) left unfinished by the last run marked failed")
        task_services.start_sweeper()
        if opts["workers"]:
            self._start_cluster(opts["workers"], opts)
        services.get_dispatcher()
        self._serve(opts["host"], opts["port"])

    def _apply(self, opts):
        if opts["backend"] != EMBEDDED_BACKEND:
            hint = " (an LLM backend for the GPU engines, not available in this build)" \
                if opts["backend"] in SEED_BACKENDS else ""
            raise CommandError(f"--backend {opts['backend']!r} is not available{hint}; "
                               f"the embedded engines use {EMBEDDED_BACKEND!r}")
        for flag in ("llm_device", "tokenizer_device", "detokenizer_device"):
            if opts[flag] not in ("auto", "cpu"):
                raise CommandError(f"--{flag} {opts[flag]!r}: the embedded engines run on cpu")
        if opts["engines"]:
            unknown = [e for e in opts["engines"] if e not in ENGINE_PATHS]
            if unknown:
                raise CommandError(f"unknown engine {unknown[0]!r}; known: {', '.join(sorted(ENGINE_PATHS))}")
            settings.TTS_ENGINES = opts["engines"]
        if opts["model_path"]:
            if not os.path.exists(opts["model_path"]):
                raise CommandError(f"--model_path {opts['model_path']!r} does not exist")
            first = settings.TTS_ENGINES[0]
            settings.TTS_ENGINE_OPTIONS.setdefault(first, {})["model_path"] = opts["model_path"]
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

    def _start_cluster(self, count: int, opts):
        """redis-server (unless REDIS_URL is set) and `count` Celery workers, stopped with this process."""
        import atexit
        from pathlib import Path

        from ttsproject.celery import app
        from ttsproject.processes import CeleryWorker, RedisServer

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
        workers = [CeleryWorker(workdir, env, name=f"worker{i + 1}") for i in range(count)]
        children.extend(workers)
        atexit.register(lambda: [child.stop() for child in reversed(children)])
        for worker in workers:
            worker.wait_ready(timeout=180)
        self.stdout.write(f"cluster: {count} Celery worker(s) on {settings.REDIS_URL}; logs in {workdir}")

    def _serve(self, host: str, port: int):
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        from ttsproject import daphne_errors

        daphne_errors.install()

        from ttsproject.asgi import application

        self.stdout.write(f"serving on http://{host}:{port}/")
        Server(application=application,
               endpoints=build_endpoint_description_strings(host=host, port=port),
               http_timeout=None, websocket_timeout=86400, application_close_timeout=10,
               server_name="ttsproject").run()
