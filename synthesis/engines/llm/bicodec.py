"""BiCodec, the Spark-TTS codec: speech <-> (global tokens, semantic tokens), inference only.

- Global tokens (32 per voice, FSQ codes): the speaker, from the mel spectrogram of a ~6 s
  reference clip (`SpeakerEncoder`).
- Semantic tokens (50 per second, a factorized VQ codebook): the content, from wav2vec2
  features of the reference (`FeatureEncoder` + `FactorizedVQ`).
- Decoding: the semantic codes through the prenet conditioned on the d-vector of the global
  tokens, then the wave generator, at 16 kHz (320 samples per token).

`load_bicodec(folder)` reads the release's `BiCodec/` directory: `config.yaml` (its
`audio_tokenizer` section) and `model.safetensors`. Training-only parts (the postnet, the
quantizer's usage statistics) are not built and their tensors are skipped.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ...audio.mel import slaney_mel_filters
from ..base import EngineError
from .bicodec_blocks import FeatureDecoder, FeatureEncoder, WaveGenerator, weight_normed
from .bicodec_speaker import SpeakerEncoder

logger = logging.getLogger(__name__)
TRAINING_ONLY = ("postnet.", "mel_transformer.", "quantizer.cluster_size")


class FactorizedVQ(nn.Module):
    """Codes looked up in a low-dimensional codebook by cosine similarity, projected back up."""

    def __init__(self, input_dim: int, codebook_size: int, codebook_dim: int, **_):
        super().__init__()
        self.codebook_size = codebook_size
        if input_dim != codebook_dim:
            self.in_project = weight_normed(nn.Conv1d(input_dim, codebook_dim, kernel_size=1))
            self.out_project = weight_normed(nn.Conv1d(codebook_dim, input_dim, kernel_size=1))
        else:
            self.in_project = self.out_project = nn.Identity()
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def tokenize(self, z: torch.Tensor) -> torch.Tensor:
        """(B, input_dim, T) -> (B, T)"""
        latents = F.normalize(self.in_project(z).transpose(1, 2), dim=-1)
        return (latents @ F.normalize(self.codebook.weight, dim=-1).t()).argmax(dim=-1)

    def detokenize(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, input_dim, T)"""
        return self.out_project(self.codebook(tokens).transpose(1, 2))


class BiCodec(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        self.encoder = FeatureEncoder(**config["encoder"])
        self.quantizer = FactorizedVQ(**config["quantizer"])
        self.speaker_encoder = SpeakerEncoder(**config["speaker_encoder"])
        self.prenet = FeatureDecoder(**config["prenet"])
        self.decoder = WaveGenerator(**config["decoder"])
        mel = config["mel_params"]
        self.sample_rate = int(mel["sample_rate"])
        self.n_fft, self.hop, self.win = int(mel["n_fft"]), int(mel["hop_length"]), int(mel["win_length"])
        f_max = mel.get("mel_fmax") or self.sample_rate / 2
        self.register_buffer("mel_filters", torch.from_numpy(slaney_mel_filters(
            self.sample_rate, self.n_fft, int(mel["num_mels"]), float(mel.get("mel_fmin") or 0), float(f_max))),
            persistent=False)
        self.register_buffer("window", torch.hann_window(self.win), persistent=False)
        self.samples_per_token = math.prod(config["decoder"]["rates"])
        self.semantic_codebook_size = self.quantizer.codebook_size
        self.global_codebook_size = self.speaker_encoder.codebook_size
        self.global_token_count = self.speaker_encoder.token_num

    def mel(self, wav: torch.Tensor) -> torch.Tensor:
        """(B, N) samples -> (B, n_mels, frames) mel magnitudes (centered STFT, reflect padding)."""
        spec = torch.stft(wav, self.n_fft, self.hop, self.win, self.window, center=True, pad_mode="reflect",
                          return_complex=True).abs()
        return (spec.transpose(1, 2) @ self.mel_filters).transpose(1, 2)

    @torch.inference_mode()
    def global_tokens(self, ref_wav: torch.Tensor) -> torch.Tensor:
        """(B, N) reference clip -> (B, token_num) global tokens."""
        return self.speaker_encoder.tokenize(self.mel(ref_wav).transpose(1, 2))

    @torch.inference_mode()
    def semantic_tokens(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, C) wav2vec2 features -> (B, T) semantic tokens."""
        return self.quantizer.tokenize(self.encoder(features.transpose(1, 2)))

    @torch.inference_mode()
    def detokenize(self, semantic: torch.Tensor, global_tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) semantic and (B, token_num) global tokens -> (B, T * samples_per_token) samples."""
        d_vector = self.speaker_encoder.detokenize(global_tokens)
        x = self.prenet(self.quantizer.detokenize(semantic), d_vector) + d_vector.unsqueeze(-1)
        return self.decoder(x)[:, 0, :]


def fold_weight_norm(state: dict) -> dict:
    """Weight-norm checkpoints store each weight as a magnitude g and a direction v (either
    `parametrizations.weight.original0/1` or the older `weight_g/weight_v`): w = g * v / |v|."""
    pairs = {".parametrizations.weight.original0": ".parametrizations.weight.original1", ".weight_g": ".weight_v"}
    folded = {}
    for key, tensor in state.items():
        for g_suffix, v_suffix in pairs.items():
            if key.endswith(g_suffix):
                prefix = key[:-len(g_suffix)]
                v = state[prefix + v_suffix].float()
                norm = v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))
                folded[prefix + ".weight"] = tensor.float() * v / norm
                break
        else:
            if not any(key.endswith(v_suffix) for v_suffix in pairs.values()):
                folded[key] = tensor
    return folded


def load_bicodec(folder: str | Path, device: str = "cpu") -> BiCodec:
    """BiCodec from a directory with config.yaml and model.safetensors (Spark-TTS's BiCodec/)."""
    import yaml
    from safetensors.torch import load_file

    folder = Path(folder)
    config_file, weights = folder / "config.yaml", folder / "model.safetensors"
    if not config_file.is_file() or not weights.is_file():
        raise EngineError(f"{folder} must hold BiCodec's config.yaml and model.safetensors")
    try:
        config = yaml.safe_load(config_file.read_text())["audio_tokenizer"]
        model = BiCodec(config)
        state = {k: v for k, v in fold_weight_norm(load_file(str(weights))).items()
                 if not k.startswith(TRAINING_ONLY)}
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as e:
        raise EngineError(f"cannot read BiCodec from {folder}: {e}") from e
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shapes that do not match the config
        raise EngineError(f"BiCodec checkpoint {weights} does not fit {config_file}: {e}") from e
    if missing:
        raise EngineError(f"BiCodec checkpoint {weights} lacks {len(missing)} tensors, e.g. {missing[:3]}")
    if unexpected:
        logger.warning("BiCodec: %s tensors in %s are not used, e.g. %s", len(unexpected), weights, unexpected[:3])
    return model.to(device).eval()
