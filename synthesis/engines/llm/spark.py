"""Spark-TTS: zero-shot voice cloning with a Qwen2 LM over BiCodec tokens.

A reference recording becomes 32 global tokens (the speaker) and its semantic tokens (the
latent, made once per recording by `prepare_reference`). To speak, the LM is prompted with
  <|task_tts|><|start_content|>text<|end_content|><|start_global_token|>globals<|end_global_token|>
and generates semantic tokens (50 per second; sampling constrained to them and the end
markers), which BiCodec decodes with the global tokens to 16 kHz audio in overlapping windows
while generation goes on.

Without a reference the engine speaks its preset voices through Spark's controllable mode
(gender and pitch labels): the LM makes the voice's global tokens once, from a seed derived
from the voice name, so a preset voice sounds the same in every segment and request.

--model_path is a local copy of the release (config.yaml, BiCodec/, LLM/,
wav2vec2-large-xlsr-53/); nothing is downloaded.
"""
from __future__ import annotations

import io
import logging
import math
import threading
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from ...text.language import HAN_CHAR
from ..base import (CAP_CLONE, CAP_SAMPLING, CAP_SEEDED, CAP_STREAM, Engine, EngineError,
                    EngineOptions, EngineVoice, SamplingParams, SynthesizeFromStream)
from .backends import make_backend
from .config import LLMConfig, resolve_device
from .generation import FrameConstraint, Generation, Sampling
from .tokens import find_token, load_tokenizer
from .windows import decode_while_generating

logger = logging.getLogger(__name__)

DEFAULTS = Sampling(temperature=0.8, top_k=50, top_p=0.95, repetition_penalty=1.0)
LEVELS = {"very_low": 0, "low": 1, "moderate": 2, "high": 3, "very_high": 4}
# id -> (gender label, pitch level); the speed label stays "moderate" (the engine has no
# native speed control for cloned voices, so it claims none).
PRESETS = {"female": (0, "moderate"), "male": (1, "moderate"), "female-high": (0, "high"),
           "female-low": (0, "low"), "male-high": (1, "high"), "male-low": (1, "low")}
PRESET_VOICES = tuple(EngineVoice(name, "en", "female" if gender == 0 else "male",
                                  f"Spark controllable voice: {pitch} pitch")
                      for name, (gender, pitch) in PRESETS.items())
MARKERS = ("task_tts", "task_controllable_tts", "start_content", "end_content", "start_style_label",
           "end_style_label", "start_global_token", "end_global_token", "start_semantic_token",
           "end_semantic_token")
# Qwen2's end-of-text tokens: generation may also stop on these (whichever the tokenizer has).
END_OF_TEXT = ("<|im_end|>", "<|endoftext|>")


def marker(name: str) -> str:
    return f"<|{name}|>"


def seconds_for(text: str) -> float:
    """A generous duration for the token budget: CJK characters take longer than letters."""
    cjk = len(HAN_CHAR.findall(text))
    return 1.0 + 2.0 * (cjk * 0.3 + (len(text) - cjk) / 12)


class SparkEngine(SynthesizeFromStream, Engine):
    name = "spark"
    sample_rate = 16000
    languages = ("en", "zh")
    capabilities = frozenset({CAP_CLONE, CAP_SAMPLING, CAP_SEEDED, CAP_STREAM})

    def __init__(self, options: EngineOptions | None = None):
        super().__init__(options)
        self.config = LLMConfig.from_options(self.options)
        self._preset_globals: dict[str, list[int]] = {}
        self._preset_lock = threading.Lock()

    # loading ---------------------------------------------------------------------------
    def load(self) -> None:
        root = Path(self.config.model_path or "")
        needed = [root / "config.yaml", root / "BiCodec", root / "LLM", root / "wav2vec2-large-xlsr-53"]
        if not self.config.model_path or not all(p.exists() for p in needed):
            raise EngineError(f"spark needs --model_path: a local copy of the Spark-TTS release with "
                              f"config.yaml, BiCodec/, LLM/ and wav2vec2-large-xlsr-53/ (got {self.config.model_path!r})")
        try:
            import transformers  # noqa: F401
            import yaml

            from .spark_audio import ReferenceTokenizer, SparkCodec
        except ImportError as e:
            raise EngineError(f"spark needs torch and transformers (requirements-gpu.txt): {e}") from e
        try:
            self.audio_config = yaml.safe_load((root / "config.yaml").read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise EngineError(f"cannot read {root / 'config.yaml'}: {e}") from e
        self.tokenizer = load_tokenizer(root / "LLM")
        decode_device = resolve_device(self.config.detokenizer_device)
        self.codec = SparkCodec(root / "BiCodec", decode_device, self.config.batch_size, self.config.wait_timeout)
        if self.codec.sample_rate != self.sample_rate:
            raise EngineError(f"BiCodec at {root / 'BiCodec'} is {self.codec.sample_rate} Hz; expected 16000")
        self.reference_tokenizer = ReferenceTokenizer(root, self.audio_config,
                                                      resolve_device(self.config.tokenizer_device), self.codec,
                                                      self.config.attention("wav2vec_attn_implementation"))
        self._resolve_tokens()
        self.backend = make_backend(replace(self.config, model_path=str(root / "LLM")))
        pad = self.tokenizer.pad_token_id
        self.backend.load(pad_id=pad if pad is not None else self.semantic_constraint.end_ids[-1])
        logger.info("spark: %s backend, LLM on %s, BiCodec on %s, reference encoder on %s", self.config.backend,
                    getattr(self.backend, "device", self.config.llm_device), decode_device,
                    self.reference_tokenizer.device)

    def _token_id(self, token: str, required: bool = True) -> int | None:
        token_id = find_token(self.tokenizer, token)
        if token_id is None and required:
            raise EngineError(f"the tokenizer at {self.config.model_path}/LLM has no {token}: not a Spark-TTS LM")
        return token_id

    def _codebook_base(self, kind: str, size: int) -> int:
        first = self._token_id(marker(f"bicodec_{kind}_0"))
        if self._token_id(marker(f"bicodec_{kind}_{size - 1}")) - first != size - 1:
            raise EngineError(f"the tokenizer's bicodec_{kind} tokens are not {size} contiguous ids")
        return first

    def _resolve_tokens(self) -> None:
        self.ids = {name: self._token_id(marker(name)) for name in MARKERS}
        for level in range(5):
            for kind in ("pitch", "speed"):
                self.ids[f"{kind}_{level}"] = self._token_id(marker(f"{kind}_label_{level}"))
        for gender in (0, 1):
            self.ids[f"gender_{gender}"] = self._token_id(marker(f"gender_{gender}"))
        self.global_base = self._codebook_base("global", self.codec.global_codebook_size)
        self.semantic_base = self._codebook_base("semantic", self.codec.semantic_codebook_size)
        text_ends = {self._token_id(t, required=False) for t in (*END_OF_TEXT, self.tokenizer.eos_token) if t}
        ends = (self.ids["end_semantic_token"], *sorted(text_ends - {None}))
        self.semantic_constraint = FrameConstraint(self.semantic_base, self.codec.semantic_codebook_size, 1, ends)
        self.global_constraint = FrameConstraint(self.global_base, self.codec.global_codebook_size, 1, ())

    def voices(self) -> list[EngineVoice]:
        return list(PRESET_VOICES)

    # references ------------------------------------------------------------------------
    def prepare_reference(self, samples: np.ndarray, sample_rate: int) -> bytes:
        """Reference audio -> the latent: its global tokens and semantic tokens (npz bytes)."""
        global_tokens, semantic = self.reference_tokenizer.tokenize(samples, sample_rate)
        buffer = io.BytesIO()
        np.savez(buffer, global_tokens=np.asarray(global_tokens, np.int32), semantic=np.asarray(semantic, np.int32))
        return buffer.getvalue()

    def latent_globals(self, latent: str) -> list[int]:
        import base64

        try:
            with np.load(io.BytesIO(base64.b64decode(latent))) as npz:
                tokens = [int(t) for t in npz["global_tokens"]]
        except (ValueError, KeyError, OSError) as e:
            raise EngineError(f"the voice's latent was not made by the spark engine: {e}") from e
        if len(tokens) != self.codec.global_token_count or not all(
                0 <= t < self.codec.global_codebook_size for t in tokens):
            raise EngineError("the voice's latent holds global tokens of another BiCodec")
        return tokens

    def preset_globals(self, voice: str) -> list[int]:
        """A preset voice's global tokens, generated once from a seed derived from its name."""
        with self._preset_lock:
            if voice not in self._preset_globals:
                seed = zlib.crc32(f"spark:{voice}".encode())
                generation = Generation(self.control_prompt("", voice), replace(
                    DEFAULTS, max_tokens=self.codec.global_token_count, seed=seed), (), self.global_constraint)
                tokens = [t - self.global_base for t in self.backend.submit(generation)]
                if len(tokens) != self.codec.global_token_count:
                    raise EngineError(f"spark: voice {voice!r} got {len(tokens)} global tokens")
                self._preset_globals[voice] = tokens
            return self._preset_globals[voice]

    # synthesis -------------------------------------------------------------------------
    def text_ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def control_prompt(self, text: str, voice: str) -> list[int]:
        gender, pitch = PRESETS[voice]
        ids = self.ids
        return [ids["task_controllable_tts"], ids["start_content"], *self.text_ids(text), ids["end_content"],
                ids["start_style_label"], ids[f"gender_{gender}"], ids[f"pitch_{LEVELS[pitch]}"],
                ids[f"speed_{LEVELS['moderate']}"], ids["end_style_label"], ids["start_global_token"]]

    def voice_globals(self, voice: str, latent: str = "") -> list[int]:
        """The global tokens to speak with: the reference's, else the preset voice's."""
        if latent:
            return self.latent_globals(latent)
        if voice in PRESETS:
            return self.preset_globals(voice)
        raise EngineError(f"spark has no voice {voice!r}; presets: {', '.join(PRESETS)}, or a cloned voice")

    def prompt(self, text: str, voice: str, global_tokens: list[int], cloned: bool) -> list[int]:
        if cloned:
            head = [self.ids["task_tts"], self.ids["start_content"], *self.text_ids(text),
                    self.ids["end_content"], self.ids["start_global_token"]]
        else:
            head = self.control_prompt(text, voice)
        return [*head, *(self.global_base + t for t in global_tokens), self.ids["end_global_token"],
                self.ids["start_semantic_token"]]

    def sampling_for(self, text: str, sampling: SamplingParams | None) -> Sampling:
        """The request's sampling settings over the engine's defaults; a budget from the text."""
        s = sampling or SamplingParams()
        budget = s.max_tokens or math.ceil(seconds_for(text) * self.sample_rate / self.codec.samples_per_token)
        given = {name: getattr(s, name) for name in ("temperature", "top_k", "top_p", "repetition_penalty")
                 if getattr(s, name) is not None}
        seed = s.seed if s.seed is not None else (self.config.seed or None)
        return replace(DEFAULTS, **given, max_tokens=budget, seed=seed)

    def generation(self, text: str, voice: str, *, sampling: SamplingParams | None = None, latent: str = "",
                   global_tokens: list[int] | None = None) -> Generation:
        if global_tokens is None:
            global_tokens = self.voice_globals(voice, latent)
        return Generation(self.prompt(text, voice, global_tokens, cloned=bool(latent)),
                          self.sampling_for(text, sampling), self.semantic_constraint.end_ids,
                          self.semantic_constraint)

    def semantic_tokens(self, generation: Generation) -> Iterator[int]:
        """Semantic codes as the LM generates them; anything else (possible only if a backend
        ignored the constraint) is dropped."""
        size = self.codec.semantic_codebook_size
        for token in generation:
            code = token - self.semantic_base
            if 0 <= code < size:
                yield code
            else:
                logger.warning("spark: dropped token %s outside the semantic codebook", token)

    def stream(self, text, voice, *, language="", speed=1.0, sampling=None, latent="") -> Iterator[np.ndarray]:
        global_tokens = self.voice_globals(voice, latent)
        generation = self.backend.submit(self.generation(text, voice, sampling=sampling, latent=latent,
                                                         global_tokens=global_tokens))
        yield from decode_while_generating(self.semantic_tokens(generation), self.codec.stream(global_tokens),
                                           generation)
