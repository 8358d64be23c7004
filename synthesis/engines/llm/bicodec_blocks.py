"""BiCodec's convolutional parts, inference only: the Vocos (ConvNeXt) feature encoder and
prenet, and the DAC-style wave generator.

BiCodec (the Spark-TTS codec) has no package on PyPI, so its architecture is written here to
the layout of the published checkpoint: module and parameter names follow it, so its
`model.safetensors` loads into these modules with no renaming. Weight-normalised layers are
plain convolutions here; the loader folds the checkpoint's (g, v) pairs into their weights.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def weight_normed(module: nn.Module) -> nn.Module:
    """Mark a layer whose checkpoint weight is stored as weight-norm (g, v) pairs."""
    module.weight_normed = True
    return module


class AdaLayerNorm(nn.Module):
    """Layer norm whose scale and shift come from a condition vector (the speaker d-vector)."""

    def __init__(self, condition_dim: int, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps, self.dim = eps, dim
        self.scale = nn.Linear(condition_dim, dim)
        self.shift = nn.Linear(condition_dim, dim)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x, (self.dim,), eps=self.eps)
        return x * self.scale(condition).unsqueeze(1) + self.shift(condition).unsqueeze(1)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, intermediate_dim: int, condition_dim: int | None = None):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = AdaLayerNorm(condition_dim, dim) if condition_dim else nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.ones(dim))  # layer scale

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        y = self.dwconv(x).transpose(1, 2)
        y = self.norm(y, condition) if isinstance(self.norm, AdaLayerNorm) else self.norm(y)
        y = self.pwconv2(F.gelu(self.pwconv1(y))) * self.gamma
        return x + y.transpose(1, 2)


class VocosBackbone(nn.Module):
    """(B, C_in, T) -> (B, T, dim), same time resolution throughout."""

    def __init__(self, input_channels: int, dim: int, intermediate_dim: int, num_layers: int,
                 condition_dim: int | None = None):
        super().__init__()
        self.embed = nn.Conv1d(input_channels, dim, kernel_size=7, padding=3)
        self.norm = AdaLayerNorm(condition_dim, dim) if condition_dim else nn.LayerNorm(dim, eps=1e-6)
        self.convnext = nn.ModuleList(ConvNeXtBlock(dim, intermediate_dim, condition_dim)
                                      for _ in range(num_layers))
        self.final_layer_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(x).transpose(1, 2)
        x = self.norm(x, condition) if isinstance(self.norm, AdaLayerNorm) else self.norm(x)
        x = x.transpose(1, 2)
        for block in self.convnext:
            x = block(x, condition)
        return self.final_layer_norm(x.transpose(1, 2))


class SamplingBlock(nn.Module):
    """Time resampling by an integer factor: (B, T, C) -> (B, C, T'). Factor 1 (the released
    configuration) sums the input three times over, as the original block does."""

    def __init__(self, dim: int, upsample_scale: int = 1, downsample_scale: int = 1):
        super().__init__()
        self.up, self.down = upsample_scale, downsample_scale
        if self.up > 1:
            self.de_conv_upsampler = nn.Sequential(nn.LeakyReLU(0.2), nn.ConvTranspose1d(
                dim, dim, kernel_size=2 * self.up, stride=self.up, padding=self.up // 2 + self.up % 2,
                output_padding=self.up % 2, groups=dim))
        if self.down > 1:
            self.conv_downsampler = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv1d(
                dim, dim, kernel_size=2 * self.down, stride=self.down,
                padding=self.down // 2 + self.down % 2, groups=dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)
        repeated = merged = x
        if self.up > 1:
            repeated = x.repeat_interleave(self.up, dim=2)
            merged = repeated + self.de_conv_upsampler(x)
        if self.down > 1:
            pool = lambda t: F.avg_pool1d(t, kernel_size=self.down, stride=self.down)  # noqa: E731
            return self.conv_downsampler(merged) + pool(repeated) + pool(merged)
        return merged + repeated + merged


def _resampling_stages(dim: int, intermediate_dim: int, ratios, direction: str) -> nn.Sequential:
    return nn.Sequential(*(nn.Sequential(SamplingBlock(dim, **{f"{direction}sample_scale": r}),
                                         VocosBackbone(dim, dim, intermediate_dim, num_layers=2))
                           for r in ratios))


class FeatureEncoder(nn.Module):
    """wav2vec2 features (B, C, T) -> latents (B, out_channels, T) for the semantic quantizer."""

    def __init__(self, input_channels: int, vocos_dim: int, vocos_intermediate_dim: int,
                 vocos_num_layers: int, out_channels: int, sample_ratios=(1, 1), **_):
        super().__init__()
        self.encoder = VocosBackbone(input_channels, vocos_dim, vocos_intermediate_dim, vocos_num_layers)
        self.downsample = _resampling_stages(vocos_dim, vocos_intermediate_dim, sample_ratios, "down")
        self.project = nn.Linear(vocos_dim, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.downsample(self.encoder(x))).transpose(1, 2)


class FeatureDecoder(nn.Module):
    """The prenet: quantized latents (B, C, T) and the d-vector -> decoder input (B, out, T)."""

    def __init__(self, input_channels: int, vocos_dim: int, vocos_intermediate_dim: int,
                 vocos_num_layers: int, out_channels: int, condition_dim: int | None = None,
                 sample_ratios=(1, 1), use_tanh_at_final: bool = False, **_):
        super().__init__()
        self.linear_pre = nn.Linear(input_channels, vocos_dim)
        self.downsample = _resampling_stages(vocos_dim, vocos_intermediate_dim, sample_ratios, "up")
        self.vocos_backbone = VocosBackbone(vocos_dim, vocos_dim, vocos_intermediate_dim, vocos_num_layers,
                                            condition_dim)
        self.linear = nn.Linear(vocos_dim, out_channels)
        self.use_tanh_at_final = use_tanh_at_final

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        x = self.downsample(self.linear_pre(x.transpose(1, 2))).transpose(1, 2)
        x = self.linear(self.vocos_backbone(x, condition)).transpose(1, 2)
        return torch.tanh(x) if self.use_tanh_at_final else x


class Snake1d(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + (self.alpha + 1e-9).reciprocal() * torch.sin(self.alpha * x).pow(2)


class ResidualUnit(nn.Module):
    def __init__(self, dim: int, dilation: int):
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(dim), weight_normed(nn.Conv1d(dim, dim, 7, dilation=dilation, padding=3 * dilation)),
            Snake1d(dim), weight_normed(nn.Conv1d(dim, dim, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class DecoderBlock(nn.Module):
    def __init__(self, input_dim: int, output_dim: int, kernel_size: int, stride: int):
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(input_dim),
            weight_normed(nn.ConvTranspose1d(input_dim, output_dim, kernel_size, stride=stride,
                                             padding=(kernel_size - stride) // 2)),
            ResidualUnit(output_dim, 1), ResidualUnit(output_dim, 3), ResidualUnit(output_dim, 9))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class WaveGenerator(nn.Module):
    """(B, input_channel, T) -> (B, 1, T * prod(rates)) in [-1, 1]."""

    def __init__(self, input_channel: int, channels: int, rates, kernel_sizes, d_out: int = 1, **_):
        super().__init__()
        layers = [weight_normed(nn.Conv1d(input_channel, channels, 7, padding=3))]
        for i, (kernel_size, stride) in enumerate(zip(kernel_sizes, rates)):
            layers.append(DecoderBlock(channels // 2 ** i, channels // 2 ** (i + 1), kernel_size, stride))
        out_dim = channels // 2 ** len(rates)
        layers += [Snake1d(out_dim), weight_normed(nn.Conv1d(out_dim, d_out, 7, padding=3)), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
