"""Spark-TTS's audio side: references -> (global, semantic) tokens, semantic tokens -> audio.

`ReferenceTokenizer` follows the release's audio tokenizer (Spark-TTS's
`sparktts/utils/audio.py` `load_audio` and `sparktts/models/audio_tokenizer.py`): the recording as
decoded, resampled straight to 16 kHz with soxr at very high quality and volume normalised, both
in float64, then float32 for the models; wav2vec2 (transformers) features averaged over hidden layers 11, 14 and 16 give
the semantic tokens; a reference clip of `ref_segment_duration` seconds (the recording
repeated when shorter) gives the global tokens. `SparkCodec` decodes semantic tokens with a
voice's global tokens, streaming in overlapping windows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..base import EngineError
from .bicodec import load_bicodec
from .windows import DecodeBatcher, WindowedDecoder

# Windowed decoding, in semantic tokens (20 ms each): BiCodec's prenet sees far, so windows get
# generous context; the first window waits for FIRST + CONTEXT tokens.
CONTEXT, FIRST, MOST = 20, 10, 50
FEATURE_LAYERS = (11, 14, 16)


def resample_16k(wav: np.ndarray, sample_rate: int, target: int) -> np.ndarray:
    """float64 samples at `target` Hz: soxr's very-high-quality resampler, as the release's
    `load_audio` uses (nothing is done when the rate already matches)."""
    wav = np.asarray(wav, np.float64)
    if sample_rate == target:
        return wav
    try:
        import soxr
    except ImportError as e:
        raise EngineError(f"spark needs soxr to resample references (requirements-llm.txt): {e}") from e
    return soxr.resample(wav, sample_rate, target, quality="VHQ")


def normalize_volume(wav: np.ndarray, target: float = 0.2) -> np.ndarray:
    """Scale so that the loud part of the signal (the 90th-99th percentile of the magnitudes
    above 0.01) averages `target`; the gain is kept within [0.1, 10] and peaks under 1.
    Computed in float64, as the release's `audio_volume_normalize` is on soundfile's samples; as
    there, the loudness is measured on the samples as given, also when a very quiet signal (peak
    under 0.1) is first lifted to a peak of 0.1."""
    wav = np.asarray(wav, np.float64)
    magnitudes = np.sort(np.abs(wav))
    peak = float(magnitudes[-1]) if wav.size else 0.0
    if peak < 0.1:
        wav = wav / max(peak, 1e-3) * 0.1
    loud = magnitudes[magnitudes > 0.01]
    if loud.size <= 10:
        return wav
    volume = float(np.mean(loud[int(0.9 * loud.size):int(0.99 * loud.size)]))
    wav = wav * float(np.clip(target / max(volume, 1e-6), 0.1, 10))
    peak = float(np.max(np.abs(wav)))
    return wav / peak if peak > 1 else wav


class SparkCodec:
    """BiCodec decoding for streams; --batch_size decodes equal windows of streams together."""

    def __init__(self, folder: Path, device: str, batch_size: int = 1, wait_timeout: float = 0.01):
        self.model = load_bicodec(folder, device)
        self.device = device
        self.sample_rate = self.model.sample_rate
        self.samples_per_token = self.model.samples_per_token
        self.semantic_codebook_size = self.model.semantic_codebook_size
        self.global_codebook_size = self.model.global_codebook_size
        self.global_token_count = self.model.global_token_count
        self._batcher = (DecodeBatcher(self._decode_batch, batch_size, wait_timeout, length=lambda item: len(item[0]),
                                       name="bicodec-batcher") if batch_size > 1 else None)

    def decode(self, semantic: list[int], global_tokens: list[int]) -> np.ndarray:
        """Semantic tokens with a voice's global tokens -> float32 samples (320 per token)."""
        if self._batcher is not None:
            return self._batcher((semantic, global_tokens))
        return self._decode_batch([(semantic, global_tokens)])[0]

    def _decode_batch(self, items: list[tuple[list[int], list[int]]]) -> list[np.ndarray]:
        import torch

        semantic = torch.tensor([item[0] for item in items], dtype=torch.long, device=self.device)
        global_tokens = torch.tensor([item[1] for item in items], dtype=torch.long, device=self.device)
        audio = self.model.detokenize(semantic, global_tokens).float().cpu().numpy()
        return [row.astype(np.float32) for row in audio]

    def stream(self, global_tokens: list[int]) -> WindowedDecoder:
        return WindowedDecoder(lambda window, _seed: self.decode(window, global_tokens), self.samples_per_token,
                               context=CONTEXT, first=FIRST, most=MOST)


class ReferenceTokenizer:
    def __init__(self, root: Path, audio_config: dict, device: str, codec: SparkCodec, attention: dict | None = None):
        from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model

        folder = root / "wav2vec2-large-xlsr-53"
        try:
            self.processor = Wav2Vec2FeatureExtractor.from_pretrained(folder, local_files_only=True)
            self.wav2vec2 = Wav2Vec2Model.from_pretrained(folder, local_files_only=True,
                                                          **(attention or {})).to(device).eval()
        except (OSError, ValueError) as e:
            raise EngineError(f"cannot load wav2vec2 from {folder}: {e}") from e
        if self.wav2vec2.config.num_hidden_layers < max(FEATURE_LAYERS):
            raise EngineError(f"wav2vec2 at {folder} has {self.wav2vec2.config.num_hidden_layers} layers; "
                              f"Spark reads layers {FEATURE_LAYERS}")
        self.device = device
        self.bicodec = codec.model if codec.device == device else load_bicodec(root / "BiCodec", device)
        self.sample_rate = int(audio_config.get("sample_rate", 16000))
        hop = int(audio_config.get("latent_hop_length", 320))
        self.ref_samples = int(self.sample_rate * float(audio_config.get("ref_segment_duration", 6))) // hop * hop
        self.normalize = bool(audio_config.get("volume_normalize", True))

    def reference_clip(self, wav: np.ndarray) -> np.ndarray:
        """The first ref_samples of the recording, repeated first when it is shorter."""
        if wav.size < self.ref_samples:
            wav = np.tile(wav, self.ref_samples // wav.size + 1)
        return wav[:self.ref_samples]

    def tokenize(self, samples: np.ndarray, sample_rate: int) -> tuple[list[int], list[int]]:
        """A recording (as decoded: not trimmed or normalised) -> (global tokens, semantic tokens)."""
        import torch

        wav = resample_16k(samples, sample_rate, self.sample_rate)
        if wav.size < self.sample_rate // 10:
            raise EngineError("the reference is too short for Spark (under 0.1 s)")
        if self.normalize:
            wav = normalize_volume(wav)
        wav = wav.astype(np.float32)  # the release hands the models float32 (torch .float(), the processor)
        inputs = self.processor(wav, sampling_rate=self.sample_rate, return_tensors="pt").input_values
        with torch.inference_mode():
            hidden = self.wav2vec2(inputs.to(self.device), output_hidden_states=True).hidden_states
            features = sum(hidden[i] for i in FEATURE_LAYERS) / len(FEATURE_LAYERS)
            semantic = self.bicodec.semantic_tokens(features)[0]
            clip = torch.from_numpy(self.reference_clip(wav)).unsqueeze(0).to(self.device)
            global_tokens = self.bicodec.global_tokens(clip)[0]
        return global_tokens.tolist(), semantic.tolist()
