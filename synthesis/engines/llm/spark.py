"""Spark-TTS: zero-shot voice cloning with a Qwen2 LM over BiCodec tokens.

A reference recording (as decoded, prepared the way the release's `load_audio` does) becomes
32 global tokens (the speaker) and its semantic tokens; with the reference's transcript, when the
client sent one, they are the latent, made once per recording by `prepare_reference`. To speak,
the LM is prompted as the release's `cli/SparkTTS.py` `process_prompt` does:
  <|task_tts|><|start_content|>text<|end_content|><|start_global_token|>globals<|end_global_token|>
or, with a transcript (prompt-text cloning), the content is transcript + text and the prompt goes
on with `<|start_semantic_token|>` and the reference's semantic tokens, so generation continues
after them. The LM generates semantic tokens (50 per second; sampling constrained to them and the
end markers), which BiCodec decodes with the global tokens to 16 kHz audio in overlapping windows
while generation goes on.

Without a reference the engine speaks preset voices through Spark's controllable mode (gender,
pitch and speed labels, `spark_presets.py`): a preset's first segment makes its global tokens and
semantic tokens in one pass with the real text; the global tokens are kept for every later
segment, request and restart (in the speaker cache folder), so a preset voice keeps its voice.

--model_path is a local copy of the release (config.yaml, BiCodec/, LLM/,
wav2vec2-large-xlsr-53/); nothing is downloaded.
"""
from __future__ import annotations

import io
import logging
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...text.language import HAN_CHAR
from ..base import (CAP_CLONE, CAP_SAMPLING, CAP_SEEDED, CAP_STREAM, Engine, EngineError,
                    EngineOptions, EngineVoice, SamplingParams, SynthesizeFromStream)
from .backends import make_backend
from .config import LLMConfig, resolve_device
from .generation import FrameConstraint, Generation, Sampling
from .spark_presets import GENDERS, LEVELS, LISTED, Preset, PresetStore, model_fingerprint, parse_preset
from .tokens import find_token, load_tokenizer
from .windows import decode_while_generating

logger = logging.getLogger(__name__)

DEFAULTS = Sampling(temperature=0.8, top_k=50, top_p=0.95, repetition_penalty=1.0)
PRESETS = {name: parse_preset(name) for name in LISTED}
PRESET_VOICES = tuple(EngineVoice(name, "en", preset.gender, preset.description) for name, preset in PRESETS.items())
MARKERS = ("task_tts", "task_controllable_tts", "start_content", "end_content", "start_style_label",
           "end_style_label", "start_global_token", "end_global_token", "start_semantic_token",
           "end_semantic_token")
# Qwen2's end-of-text tokens: generation may also stop on these (whichever the tokenizer has).
END_OF_TEXT = ("<|im_end|>", "<|endoftext|>")


@dataclass(frozen=True)
class ClonePrompt:
    """What a Spark latent holds: the reference's global and semantic tokens and, when the client
    sent it, the reference's transcript (then the prompt continues after its semantic tokens)."""

    global_tokens: list[int]
    semantic: list[int]
    prompt_text: str = ""

    @property
    def continues(self) -> bool:
        return bool(self.prompt_text.strip() and self.semantic)


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
        self.presets: PresetStore | None = None

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
        folder = self.options.cache_dir or self.options.extra.get("speaker_cache") or ""
        self.presets = PresetStore(Path(folder) / f"spark-presets-{model_fingerprint(root)}.json" if folder else None,
                                   self.codec.global_token_count, self.codec.global_codebook_size)
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

    def voices(self) -> list[EngineVoice]:
        return list(PRESET_VOICES)

    # references ------------------------------------------------------------------------
    # The services hand this engine the recording as decoded (not the shared intake's trimmed,
    # normalised 24 kHz copy), since the release tokenizes what its own `load_audio` makes of the
    # file, and the reference's transcript when the client sent one.
    reference_as_recorded = True
    uses_reference_text = True

    def prepare_reference(self, samples: np.ndarray, sample_rate: int, text: str = "") -> bytes:
        """Reference audio (and its transcript) -> the latent: global tokens, semantic tokens and
        the transcript (npz bytes; latents made before transcripts were kept lack it)."""
        global_tokens, semantic = self.reference_tokenizer.tokenize(samples, sample_rate)
        buffer = io.BytesIO()
        np.savez(buffer, global_tokens=np.asarray(global_tokens, np.int32), semantic=np.asarray(semantic, np.int32),
                 prompt_text=np.asarray(text or ""))
        return buffer.getvalue()

    def latent_prompt(self, latent: str) -> ClonePrompt:
        """What a latent holds; one without a transcript clones from the global tokens alone."""
        import base64

        try:
            with np.load(io.BytesIO(base64.b64decode(latent))) as npz:
                tokens = [int(t) for t in npz["global_tokens"]]
                semantic = [int(t) for t in npz["semantic"]] if "semantic" in npz.files else []
                prompt_text = str(npz["prompt_text"]) if "prompt_text" in npz.files else ""
        except (ValueError, KeyError, OSError) as e:
            raise EngineError(f"the voice's latent was not made by the spark engine: {e}") from e
        if len(tokens) != self.codec.global_token_count or not all(
                0 <= t < self.codec.global_codebook_size for t in tokens):
            raise EngineError("the voice's latent holds global tokens of another BiCodec")
        if not all(0 <= t < self.codec.semantic_codebook_size for t in semantic):
            raise EngineError("the voice's latent holds semantic tokens of another BiCodec")
        return ClonePrompt(tokens, semantic, prompt_text)

    def latent_globals(self, latent: str) -> list[int]:
        return self.latent_prompt(latent).global_tokens

    # preset voices -----------------------------------------------------------------------
    def preset(self, voice: str) -> Preset:
        preset = parse_preset(voice)
        if preset is None:
            raise EngineError(f"spark has no voice {voice!r}; presets: {', '.join(PRESETS)} (or any "
                              f"<female|male>[-<pitch>[-<speed>]] with levels {', '.join(LEVELS)}), or a cloned voice")
        return preset

    def is_voice(self, voice: str) -> bool:
        return parse_preset(voice) is not None

    def preset_globals(self, voice: str) -> list[int] | None:
        """The global tokens a preset voice speaks with, once its first segment made them."""
        return self.presets.known(self.preset(voice).key)

    # synthesis -------------------------------------------------------------------------
    def text_ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def control_prompt(self, text: str, preset: Preset) -> list[int]:
        """The release's controllable prompt, then `<|start_global_token|>` (the LM's next token)."""
        ids = self.ids
        return [ids["task_controllable_tts"], ids["start_content"], *self.text_ids(text), ids["end_content"],
                ids["start_style_label"], ids[f"gender_{GENDERS[preset.gender]}"],
                ids[f"pitch_{LEVELS[preset.pitch]}"], ids[f"speed_{LEVELS[preset.speed]}"],
                ids["end_style_label"], ids["start_global_token"]]

    def clone_prompt(self, text: str, reference: ClonePrompt) -> list[int]:
        """`process_prompt` of the release: with a transcript, content = transcript + text and the
        prompt ends in the reference's semantic tokens, which generation continues."""
        content = reference.prompt_text + text if reference.continues else text
        ids = [self.ids["task_tts"], self.ids["start_content"], *self.text_ids(content), self.ids["end_content"],
               self.ids["start_global_token"], *(self.global_base + t for t in reference.global_tokens),
               self.ids["end_global_token"], self.ids["start_semantic_token"]]
        if reference.continues:
            ids += [self.semantic_base + t for t in reference.semantic]
        return ids

    def prompt(self, text: str, voice: str, global_tokens: list[int], latent: str = "") -> list[int]:
        if latent:
            return self.clone_prompt(text, replace(self.latent_prompt(latent), global_tokens=global_tokens))
        return [*self.control_prompt(text, self.preset(voice)), *(self.global_base + t for t in global_tokens),
                self.ids["end_global_token"], self.ids["start_semantic_token"]]

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
        """Semantic tokens after known global tokens (a cloned voice's, or a preset's)."""
        if global_tokens is None:
            global_tokens = self.latent_globals(latent) if latent else self.preset_globals(voice)
            if global_tokens is None:
                raise EngineError(f"spark: preset {voice!r} has no global tokens yet (use one_pass_generation)")
        return Generation(self.prompt(text, voice, global_tokens, latent), self.sampling_for(text, sampling),
                          self.semantic_constraint.end_ids, self.semantic_constraint)

    def one_pass_generation(self, text: str, preset: Preset, sampling: SamplingParams | None = None) -> Generation:
        """A preset's global tokens, its two markers, then semantic tokens, in one pass with `text`
        (the release's controllable inference); seeded from the voice when the request is not."""
        count, size = self.codec.global_token_count, self.codec.global_codebook_size
        lead = ((self.global_base, self.global_base + size),) * count + tuple(
            (self.ids[name], self.ids[name] + 1) for name in ("end_global_token", "start_semantic_token"))
        settings = self.sampling_for(text, sampling)
        seed = settings.seed if settings.seed is not None else zlib.crc32(f"spark:{preset.key}".encode())
        constraint = replace(self.semantic_constraint, lead=lead)
        return Generation(self.control_prompt(text, preset), replace(settings, max_tokens=settings.max_tokens
                                                                     + len(lead), seed=seed),
                          constraint.end_ids, constraint)

    def semantic_tokens(self, tokens) -> Iterator[int]:
        """Semantic codes as the LM generates them; anything else (possible only if a backend
        ignored the constraint) is dropped."""
        size = self.codec.semantic_codebook_size
        for token in tokens:
            code = token - self.semantic_base
            if 0 <= code < size:
                yield code
            else:
                logger.warning("spark: dropped token %s outside the semantic codebook", token)

    def stream(self, text, voice, *, language="", speed=1.0, sampling=None, latent="") -> Iterator[np.ndarray]:
        if latent:
            global_tokens = self.latent_globals(latent)
        else:
            preset = self.preset(voice)
            global_tokens = self.presets.claim(preset.key)
            if global_tokens is None:
                yield from self.first_preset_segment(text, preset, sampling)
                return
        generation = self.backend.submit(self.generation(text, voice, sampling=sampling, latent=latent,
                                                         global_tokens=global_tokens))
        yield from decode_while_generating(self.semantic_tokens(generation), self.codec.stream(global_tokens),
                                           generation)

    def first_preset_segment(self, text: str, preset: Preset, sampling) -> Iterator[np.ndarray]:
        """One pass: the preset's global tokens are kept as soon as they exist (others waiting for
        them go on), its semantic tokens decoded while they are generated."""
        global_tokens = None
        try:
            generation = self.backend.submit(self.one_pass_generation(text, preset, sampling))
            tokens = iter(generation)
            lead = [next(tokens, None) for _ in range(self.codec.global_token_count + 2)]
            found = [t - self.global_base for t in lead[:-2] if t is not None]
            if lead[-2:] != [self.ids["end_global_token"], self.ids["start_semantic_token"]] \
                    or not self.presets.valid(found):
                generation.cancel()
                raise EngineError(f"spark: preset {preset.key!r} did not get its {self.codec.global_token_count} "
                                  "global tokens")
            global_tokens = found
        finally:
            self.presets.settle(preset.key, global_tokens)
        yield from decode_while_generating(self.semantic_tokens(tokens), self.codec.stream(global_tokens),
                                           generation)
