"""Engine registry: names to dotted paths, imported and loaded on first use."""
from __future__ import annotations

import importlib
import threading

from .base import Engine, EngineError, EngineOptions

ENGINE_PATHS: dict[str, str] = {
    "piper": "synthesis.engines.piper.PiperEngine",
    "kokoro": "synthesis.engines.kokoro.KokoroEngine",
    "orpheus": "synthesis.engines.llm.orpheus.OrpheusEngine",  # needs requirements-llm.txt
    "spark": "synthesis.engines.llm.spark.SparkEngine",  # needs requirements-llm.txt
}

_instances: dict[str, Engine] = {}
_lock = threading.Lock()


def register(name: str, dotted_path: str) -> None:
    ENGINE_PATHS[name] = dotted_path


def engine_class(name: str) -> type[Engine]:
    """Import the engine class named `name` without loading weights."""
    try:
        dotted = ENGINE_PATHS[name]
    except KeyError as e:
        raise EngineError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINE_PATHS))}") from e
    module_path, _, attr = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module_path), attr)
    except (ImportError, AttributeError) as e:
        raise EngineError(f"engine {name!r} cannot be imported from {dotted}: {e}") from e


def get_engine(name: str, options: EngineOptions | None = None) -> Engine:
    """The loaded, shared instance of an engine."""
    engine = _instances.get(name)
    if engine is not None:
        return engine
    with _lock:
        engine = _instances.get(name)
        if engine is None:
            engine = engine_class(name)(options)
            engine.load()
            engine.loaded = True
            _instances[name] = engine
    return engine


def loaded_engines() -> dict[str, Engine]:
    return dict(_instances)


def reset() -> None:
    """Forget loaded engines (tests)."""
    with _lock:
        _instances.clear()
