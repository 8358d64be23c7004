"""Orpheus TTS: a Llama-architecture LM that speaks in SNAC codes.

Prompt: <start_of_human> "<voice>: <text>" <eot> <end_of_human> <start_of_ai> <start_of_speech>;
the model then generates audio tokens, 7 per frame (token id = first audio id + position in
frame * codebook size + code), until <end_of_speech>. Sampling is constrained so that each
position can only produce the ids valid there, and the stream ends only at a frame boundary.
The weights come from a local directory (--model_path: a transformers checkpoint with its
tokenizer) and the SNAC decoder from another (--snac_path); nothing is downloaded.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..base import (CAP_SAMPLING, CAP_SEEDED, CAP_STREAM, Engine, EngineError, EngineOptions, EngineVoice,
                    SamplingParams, SynthesizeFromStream)
from .backends import make_backend
from .config import LLMConfig, resolve_device
from .generation import FrameConstraint, Generation, Sampling
from .snac_codec import TOKENS_PER_FRAME, SnacCodec, load_snac
from .tokens import find_token, load_tokenizer
from .windows import decode_while_generating

logger = logging.getLogger(__name__)

# The voices of the English fine-tuned release; a `voices.json` in the model directory
# (a list of names, or of {"id", "language", "gender", "description"}) replaces them.
PRESET_VOICES = (
    EngineVoice("tara", "en", "female", "Orpheus preset: conversational, clear"),
    EngineVoice("leah", "en", "female", "Orpheus preset"),
    EngineVoice("jess", "en", "female", "Orpheus preset"),
    EngineVoice("leo", "en", "male", "Orpheus preset"),
    EngineVoice("dan", "en", "male", "Orpheus preset"),
    EngineVoice("mia", "en", "female", "Orpheus preset"),
    EngineVoice("zac", "en", "male", "Orpheus preset"),
    EngineVoice("zoe", "en", "female", "Orpheus preset"),
)
# Special tokens of the Orpheus tokenizer (Llama 3's plus <custom_token_N>).
START_OF_SPEECH, END_OF_SPEECH = 1, 2
START_OF_HUMAN, END_OF_HUMAN, START_OF_AI, END_OF_AI, PAD = 3, 4, 5, 6, 7
FIRST_AUDIO = 10
EOT = "<|eot_id|>"
DEFAULTS = Sampling(temperature=0.6, top_k=0, top_p=0.8, repetition_penalty=1.3)
SECONDS_PER_CHARACTER = 1 / 12  # generous speaking rate, for the default token budget


def custom(n: int) -> str:
    return f"<custom_token_{n}>"


class OrpheusEngine(SynthesizeFromStream, Engine):
    name = "orpheus"
    sample_rate = 24000
    languages = ("en",)
    capabilities = frozenset({CAP_SAMPLING, CAP_SEEDED, CAP_STREAM})

    def __init__(self, options: EngineOptions | None = None):
        super().__init__(options)
        self.config = LLMConfig.from_options(self.options)
        self._voices: list[EngineVoice] = list(PRESET_VOICES)

    # loading ---------------------------------------------------------------------------
    def load(self) -> None:
        if not self.config.model_path or not Path(self.config.model_path).is_dir():
            raise EngineError(f"orpheus needs --model_path: a local directory with the checkpoint and "
                              f"tokenizer (got {self.config.model_path!r})")
        try:
            self.tokenizer = load_tokenizer(self.config.model_path)
        except ImportError as e:
            raise EngineError(f"orpheus needs torch, transformers and snac (requirements-gpu.txt): {e}") from e
        decoder_device = resolve_device(self.config.detokenizer_device)
        self.codec = SnacCodec(load_snac(self.config.snac_path, decoder_device), decoder_device,
                               self.config.batch_size, self.config.wait_timeout)
        if self.codec.sample_rate != self.sample_rate:
            raise EngineError(f"SNAC at {self.config.snac_path!r} is {self.codec.sample_rate} Hz; "
                              f"Orpheus speaks through the {self.sample_rate} Hz model")
        self._resolve_tokens()
        self._voices = self._read_voices()
        self.backend = make_backend(self.config)
        self.backend.load(pad_id=self.ids[PAD])
        logger.info("orpheus: %s backend, LLM on %s, SNAC on %s, %s voices", self.config.backend,
                    getattr(self.backend, "device", self.config.llm_device), decoder_device, len(self._voices))

    def _resolve_tokens(self) -> None:
        cb = self.codec.codebook_size
        last_audio = FIRST_AUDIO + TOKENS_PER_FRAME * cb - 1
        names = {n: custom(n) for n in (START_OF_SPEECH, END_OF_SPEECH, START_OF_HUMAN, END_OF_HUMAN,
                                        START_OF_AI, END_OF_AI, PAD, FIRST_AUDIO, last_audio)}
        names[EOT] = EOT
        self.ids = {}
        for key, token in names.items():
            token_id = find_token(self.tokenizer, token)
            if token_id is None:
                raise EngineError(f"the tokenizer at {self.config.model_path!r} has no {token}: "
                                  "not an Orpheus checkpoint")
            self.ids[key] = token_id
        if self.ids[last_audio] - self.ids[FIRST_AUDIO] != TOKENS_PER_FRAME * cb - 1:
            raise EngineError("the tokenizer's audio tokens are not contiguous ids")
        self.constraint = FrameConstraint(self.ids[FIRST_AUDIO], cb, TOKENS_PER_FRAME,
                                          (self.ids[END_OF_SPEECH],))
        self.stop_ids = (self.ids[END_OF_SPEECH], self.ids[END_OF_AI])

    def _read_voices(self) -> list[EngineVoice]:
        path = Path(self.config.model_path) / "voices.json"
        if not path.is_file():
            return list(PRESET_VOICES)
        try:
            entries = json.loads(path.read_text())
            voices = [EngineVoice(e, "en") if isinstance(e, str) else
                      EngineVoice(e["id"], e.get("language", "en"), e.get("gender", ""), e.get("description", ""))
                      for e in entries]
        except (ValueError, KeyError, TypeError) as e:
            raise EngineError(f"{path}: expected a list of voice names or objects with an id ({e})") from e
        if not voices:
            raise EngineError(f"{path} lists no voices")
        return voices

    def voices(self) -> list[EngineVoice]:
        return list(self._voices)

    # synthesis -------------------------------------------------------------------------
    def prompt(self, text: str, voice: str) -> list[int]:
        body = self.tokenizer(f"{voice}: {text}").input_ids
        return [self.ids[START_OF_HUMAN], *body, self.ids[EOT], self.ids[END_OF_HUMAN],
                self.ids[START_OF_AI], self.ids[START_OF_SPEECH]]

    def sampling_for(self, text: str, sampling: SamplingParams | None) -> Sampling:
        """The request's sampling settings over the engine's defaults; a budget from the text."""
        s = sampling or SamplingParams()
        seconds = 1.0 + 2.0 * len(text) * SECONDS_PER_CHARACTER
        frames = math.ceil(seconds * self.sample_rate / self.codec.frame_samples)
        budget = frames * TOKENS_PER_FRAME
        if s.max_tokens:
            budget = max(TOKENS_PER_FRAME, s.max_tokens - s.max_tokens % TOKENS_PER_FRAME)
        given = {name: getattr(s, name) for name in ("temperature", "top_k", "top_p", "repetition_penalty")
                 if getattr(s, name) is not None}
        seed = s.seed if s.seed is not None else (self.config.seed or None)
        return replace(DEFAULTS, **given, max_tokens=budget, seed=seed)

    def generation(self, text: str, voice: str, sampling: SamplingParams | None = None) -> Generation:
        return Generation(self.prompt(text, voice), self.sampling_for(text, sampling), self.stop_ids,
                          self.constraint)

    def frames(self, generation: Generation) -> Iterator[list[int]]:
        """SNAC frames (7 codes each) as the model generates them; a frame with a code outside its
        position's range (possible only if a backend ignored the constraint) is dropped."""
        base, cb = self.constraint.base, self.constraint.codebook_size
        frame: list[int] = []
        for token in generation:
            frame.append(token - base - len(frame) * cb)
            if len(frame) == TOKENS_PER_FRAME:
                if all(0 <= code < cb for code in frame):
                    yield frame
                else:
                    logger.warning("orpheus: dropped a frame with invalid codes %s", frame)
                frame = []

    def stream(self, text, voice, *, language="", speed=1.0, sampling=None, latent="") -> Iterator[np.ndarray]:
        generation = self.backend.submit(self.generation(text, voice, sampling))
        yield from decode_while_generating(self.frames(generation), self.codec.stream(generation.sampling.seed),
                                           generation)
