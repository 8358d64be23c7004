"""Synthesis engines behind one contract; see base.py."""
from .base import Engine, EngineError, EngineOptions, EngineVoice, SamplingParams  # noqa: F401
from .registry import engine_class, get_engine  # noqa: F401
