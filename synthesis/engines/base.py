"""The engine contract. Engines never import Django: they take plain settings."""
from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

# Capability names callers may ask for; they never branch on an engine's name.
CAP_SPEED = "speed"  # native speaking-rate control
CAP_SAMPLING = "sampling"  # temperature / top_k / top_p / repetition_penalty take effect
CAP_CLONE = "clone"  # synthesize from a reference latent
CAP_CODEC = "codec"  # audio <-> token codec (Fish Speech /v1/vqgan)
CAP_CROSS_LINGUAL = "cross_lingual"  # every voice speaks every language in `languages` (with its accent)
CAP_SEEDED = "seeded"  # the same seed and input give the same audio
CAP_STREAM = "stream"  # stream() yields audio while the segment is still being generated


@dataclass(frozen=True)
class EngineVoice:
    """A voice an engine ships or found on disk."""

    id: str
    language: str
    gender: str = ""
    description: str = ""


@dataclass(frozen=True)
class SamplingParams:
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float | None = None
    max_tokens: int | None = None
    seed: int | None = None


@dataclass
class EngineOptions:
    """Settings an engine is built with (from Django settings or the CLI)."""

    intra_op_threads: int = 0  # 0: the machine's cores
    adaptive_threads: bool = False  # a segment rendered alone may use every core (AdaptiveSession)
    inter_op_threads: int = 1
    voices_dir: str = ""
    cache_dir: str = ""
    model_path: str = ""
    extra: dict = field(default_factory=dict)

    def ort_threads(self) -> int:
        return self.intra_op_threads or os.cpu_count() or 1


class EngineError(RuntimeError):
    """The engine could not load or synthesize."""


class Engine(ABC):
    name: str = ""
    sample_rate: int = 0
    languages: tuple[str, ...] = ()  # base language codes the engine can read
    capabilities: frozenset[str] = frozenset()

    @classmethod
    def speaks(cls, voice_language: str, language: str) -> bool:
        """Whether a voice whose native language is `voice_language` can speak `language`.

        Cross-lingual engines: any language they read. Otherwise a voice speaks its own language;
        a voice of a language the detector does not know (e.g. a German Piper voice) is trusted.
        Cloned voices (no native language) speak what the engine reads.
        """
        from ..text.language import DETECTED_LANGUAGES, base

        if CAP_CROSS_LINGUAL in cls.capabilities or not voice_language:
            return language in cls.languages
        own = base(voice_language)
        return own == language or own not in DETECTED_LANGUAGES

    def __init__(self, options: EngineOptions | None = None):
        self.options = options or EngineOptions()
        self.loaded = False

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    @abstractmethod
    def load(self) -> None:
        """Load weights and voices; raise EngineError if they are missing."""

    @abstractmethod
    def voices(self) -> list[EngineVoice]:
        """Built-in and installed voices of this engine."""

    @abstractmethod
    def synthesize(
        self, text: str, voice: str, *, language: str = "", speed: float = 1.0,
        sampling: SamplingParams | None = None, latent: str = "",
    ) -> np.ndarray:
        """Synthesize one normalized text segment into mono float32 samples.

        `latent` (engines with the clone capability): a prepared reference, as
        prepare_reference() made it, base64-encoded; the voice then follows the reference.
        """

    def stream(
        self, text: str, voice: str, *, language: str = "", speed: float = 1.0,
        sampling: SamplingParams | None = None, latent: str = "",
    ) -> Iterator[np.ndarray]:
        """Audio for one segment as it is produced; pieces concatenate to synthesize()'s result.

        Engines that generate incrementally (the LLM engines) yield audio before the segment is
        finished; the others yield the whole segment once. Closing the generator early stops
        the engine's work for this segment.
        """
        extra = {"latent": latent} if latent else {}
        yield self.synthesize(text, voice, language=language, speed=speed, sampling=sampling, **extra)

    def prepare_reference(self, samples: np.ndarray, sample_rate: int) -> bytes:
        """Clone-capable engines: a reference recording -> latent bytes."""
        raise NotImplementedError(f"{self.name} cannot clone")

    def default_voice(self) -> str:
        return self.voices()[0].id

    def is_voice(self, voice: str) -> bool:
        """Whether `voice` names something this engine can speak (a voice id or a blend)."""
        return any(v.id == voice for v in self.voices())

    def encode_audio(self, samples: np.ndarray, sample_rate: int) -> list:
        """Codec engines: audio to token arrays (list[list[int]])."""
        raise NotImplementedError(f"{self.name} has no codec")

    def decode_tokens(self, tokens: list) -> np.ndarray:
        """Codec engines: token arrays back to float32 samples at sample_rate."""
        raise NotImplementedError(f"{self.name} has no codec")


class SynthesizeFromStream:
    """Mixin (before Engine) for engines whose stream() is primary: synthesize() joins its pieces."""

    def synthesize(self, text: str, voice: str, *, language: str = "", speed: float = 1.0,
                   sampling: SamplingParams | None = None, latent: str = "") -> np.ndarray:
        pieces = list(self.stream(text, voice, language=language, speed=speed, sampling=sampling, latent=latent))
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


class Rendering:
    """How many segments this process renders at this moment (the dispatchers count them), and how
    many jobs its in-process dispatcher holds (rendering or waiting for their next segment)."""

    _count = 0
    _jobs = 0
    _lock = threading.Lock()

    @classmethod
    @contextmanager
    def segment(cls) -> Iterator[None]:
        with cls._lock:
            cls._count += 1
        try:
            yield
        finally:
            with cls._lock:
                cls._count -= 1

    @classmethod
    def job_started(cls) -> None:
        with cls._lock:
            cls._jobs += 1

    @classmethod
    def job_ended(cls) -> None:
        with cls._lock:
            cls._jobs = max(0, cls._jobs - 1)

    @classmethod
    def alone(cls) -> bool:
        """Whether a segment starting now may take every core. Not when another job is between two
        of its segments: its next one would start beside this one, and a session holding every core
        then fights it for them (3 threads on 2 cores made each render 3 to 5 times slower)."""
        return cls._count <= 1 and cls._jobs <= 1


class AdaptiveSession:
    """Two onnxruntime sessions of one model: a segment rendered alone gets every core, segments
    rendered side by side get their share each (one per core beats all fighting for all)."""

    def __init__(self, shared, whole):
        self._shared, self._whole = shared, whole

    def run(self, *args, **kwargs):
        return (self._whole if Rendering.alone() else self._shared).run(*args, **kwargs)

    def __getattr__(self, name):  # inputs, outputs, metadata: the same in both
        return getattr(self._shared, name)


def make_onnx_session(path: str, options: EngineOptions):
    """An onnxruntime CPU session with the configured thread counts; with `adaptive_threads` and
    fewer threads than cores, an AdaptiveSession that lends a lone segment every core."""
    cores = os.cpu_count() or 1
    shared = _onnx_session(path, options.ort_threads(), options.inter_op_threads)
    if not options.adaptive_threads or options.ort_threads() >= cores:
        return shared
    # Its threads spin between operators while it runs (5-15 ms faster per lone segment than
    # sleeping between them) and stop spinning when its run returns, leaving the cores at once.
    whole = _onnx_session(path, cores, options.inter_op_threads, stop_spinning_after_run=True)
    return AdaptiveSession(shared, whole)


def _onnx_session(path: str, threads: int, inter_op_threads: int, stop_spinning_after_run: bool = False):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = max(1, inter_op_threads)
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # The arena keeps the peak of every input length it has seen, per session and thread: with
    # texts of every length a Piper server grew to 2.7 GB, 0.8 GB without it, no slower.
    so.enable_cpu_mem_arena = False
    if stop_spinning_after_run:
        so.add_session_config_entry("session.force_spinning_stop", "1")
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
