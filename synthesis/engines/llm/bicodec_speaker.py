"""BiCodec's speaker side, inference only: an ECAPA-TDNN over the reference's mel spectrogram,
a perceiver resampler to a fixed number of latents, and finite scalar quantization (FSQ) of
those latents into the global tokens; `detokenize` turns global tokens back into the d-vector
that conditions the decoder. Names follow the Spark-TTS checkpoint (see bicodec_blocks.py).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class Conv1dReluBn(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, padding: int = 0):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding)
        self.bn = nn.BatchNorm1d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))


class Res2Conv1dReluBn(nn.Module):
    """Res2Net-style multi-scale convolution: channel groups, each fed the previous group's output."""

    def __init__(self, channels: int, kernel_size: int, padding: int, dilation: int, scale: int):
        super().__init__()
        self.width = channels // scale
        self.nums = scale - 1 if scale > 1 else 1
        self.convs = nn.ModuleList(nn.Conv1d(self.width, self.width, kernel_size, padding=padding,
                                             dilation=dilation) for _ in range(self.nums))
        self.bns = nn.ModuleList(nn.BatchNorm1d(self.width) for _ in range(self.nums))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        splits = torch.split(x, self.width, 1)
        out, part = [], splits[0]
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            if i:
                part = part + splits[i]
            part = bn(F.relu(conv(part)))
            out.append(part)
        if len(splits) > self.nums:
            out.append(splits[self.nums])
        return torch.cat(out, dim=1)


class SEConnect(nn.Module):
    def __init__(self, channels: int, bottleneck: int = 128):
        super().__init__()
        self.linear1 = nn.Linear(channels, bottleneck)
        self.linear2 = nn.Linear(bottleneck, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.linear2(F.relu(self.linear1(x.mean(dim=2)))))
        return x * gate.unsqueeze(2)


class SERes2Block(nn.Module):
    def __init__(self, channels: int, kernel_size: int, padding: int, dilation: int, scale: int):
        super().__init__()
        self.se_res2block = nn.Sequential(
            Conv1dReluBn(channels, channels), Res2Conv1dReluBn(channels, kernel_size, padding, dilation, scale),
            Conv1dReluBn(channels, channels), SEConnect(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.se_res2block(x)


class AttentiveStatsPool(nn.Module):
    """Attentive statistics pooling with global context (mean and std over time as extra input)."""

    def __init__(self, in_dim: int, bottleneck: int = 128):
        super().__init__()
        self.linear1 = nn.Conv1d(in_dim * 3, bottleneck, kernel_size=1)
        self.linear2 = nn.Conv1d(bottleneck, in_dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1, keepdim=True).expand_as(x)
        std = torch.sqrt(x.var(dim=-1, keepdim=True) + 1e-10).expand_as(x)
        alpha = torch.softmax(self.linear2(torch.tanh(self.linear1(torch.cat((x, mean, std), dim=1)))), dim=2)
        mu = (alpha * x).sum(dim=2)
        sigma = torch.sqrt(((alpha * x ** 2).sum(dim=2) - mu ** 2).clamp(min=1e-10))
        return torch.cat([mu, sigma], dim=1)


class EcapaTdnn(nn.Module):
    """ECAPA-TDNN (512 channels, global-context pooling); returns the x-vector and the frame-level
    features (B, 3 * 512, T) the perceiver reads."""

    def __init__(self, feat_dim: int, embed_dim: int, channels: int = 512):
        super().__init__()
        self.layer1 = Conv1dReluBn(feat_dim, channels, kernel_size=5, padding=2)
        self.layer2 = SERes2Block(channels, 3, padding=2, dilation=2, scale=8)
        self.layer3 = SERes2Block(channels, 3, padding=3, dilation=3, scale=8)
        self.layer4 = SERes2Block(channels, 3, padding=4, dilation=4, scale=8)
        self.conv = nn.Conv1d(channels * 3, channels * 3, kernel_size=1)
        self.pool = AttentiveStatsPool(channels * 3)
        self.bn = nn.BatchNorm1d(channels * 6)
        self.linear = nn.Linear(channels * 6, embed_dim)

    def forward(self, mels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out1 = self.layer1(mels.transpose(1, 2))  # (B, T, n_mels) -> (B, C, T)
        out2 = self.layer2(out1)
        out3 = self.layer3(out2)
        out4 = self.layer4(out3)
        features = F.relu(self.conv(torch.cat([out2, out3, out4], dim=1)))
        return self.linear(self.bn(self.pool(features))), features


class RMSNorm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.scale = dim ** 0.5
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1) * self.scale * self.gamma


class CrossAttention(nn.Module):
    """Latents attend to the context with the latents themselves prepended to it."""

    def __init__(self, dim: int, dim_head: int = 64, heads: int = 8):
        super().__init__()
        self.heads, self.scale = heads, dim_head ** -0.5
        self.to_q = nn.Linear(dim, dim_head * heads, bias=False)
        self.to_kv = nn.Linear(dim, dim_head * heads * 2, bias=False)
        self.to_out = nn.Linear(dim_head * heads, dim, bias=False)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        context = torch.cat((x, context), dim=-2)
        q, k, v = (self.to_q(x), *self.to_kv(context).chunk(2, dim=-1))
        split = lambda t: t.unflatten(-1, (self.heads, -1)).transpose(1, 2)  # noqa: E731 (b, h, n, d)
        attn = (split(q) @ split(k).transpose(-1, -2) * self.scale).softmax(dim=-1)
        return self.to_out((attn @ split(v)).transpose(1, 2).flatten(2))


class GEGLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = x.chunk(2, dim=-1)
        return F.gelu(gate) * x


def feed_forward(dim: int, mult: int = 4) -> nn.Sequential:
    inner = int(dim * mult * 2 / 3)
    return nn.Sequential(nn.Linear(dim, inner * 2), GEGLU(), nn.Linear(inner, dim))


class PerceiverResampler(nn.Module):
    """A variable-length context (B, T, dim_context) -> `num_latents` latents (B, N, dim)."""

    def __init__(self, dim: int, dim_context: int, num_latents: int, depth: int = 2):
        super().__init__()
        self.proj_context = nn.Linear(dim_context, dim) if dim_context != dim else nn.Identity()
        self.latents = nn.Parameter(torch.zeros(num_latents, dim))
        self.layers = nn.ModuleList(nn.ModuleList([CrossAttention(dim), feed_forward(dim)]) for _ in range(depth))
        self.norm = RMSNorm(dim)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        context = self.proj_context(context)
        latents = self.latents.expand(context.shape[0], -1, -1)
        for attn, ff in self.layers:
            latents = attn(latents, context) + latents
            latents = ff(latents) + latents
        return self.norm(latents)


class FSQ:
    """Finite scalar quantization with the given levels per dimension (no parameters)."""

    def __init__(self, levels):
        self.levels = torch.tensor(levels, dtype=torch.int64)
        self.basis = torch.cumprod(torch.tensor([1, *levels[:-1]], dtype=torch.int64), dim=0)
        self.codebook_size = math.prod(levels)

    def quantize(self, z: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
        levels = self.levels.to(z.device, torch.float32)
        half_l = (levels - 1) * (1 + eps) / 2
        offset = torch.where(self.levels.to(z.device) % 2 == 0, 0.5, 0.0)
        bounded = torch.tanh(z.float() + torch.atanh(offset / half_l)) * half_l - offset
        return torch.round(bounded) / (self.levels.to(z.device) // 2)

    def codes_to_indices(self, codes: torch.Tensor) -> torch.Tensor:
        half = (self.levels.to(codes.device) // 2)
        return ((codes * half + half).round().long() * self.basis.to(codes.device)).sum(dim=-1)

    def indices_to_codes(self, indices: torch.Tensor) -> torch.Tensor:
        levels, half = self.levels.to(indices.device), self.levels.to(indices.device) // 2
        level_indices = (indices.unsqueeze(-1) // self.basis.to(indices.device)) % levels
        return (level_indices - half).float() / half


class ResidualFSQ(nn.Module):
    """Residual FSQ over `dim`-wide latents projected to len(levels) dimensions."""

    def __init__(self, levels, num_quantizers: int, dim: int):
        super().__init__()
        self.fsq = FSQ(list(levels))
        self.num_quantizers = num_quantizers
        self.project_in = nn.Linear(dim, len(levels))
        self.project_out = nn.Linear(len(levels), dim)
        self._scales = torch.stack([(self.fsq.levels - 1).float() ** -q for q in range(num_quantizers)])

    def tokenize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, dim) -> indices (B, N, num_quantizers)."""
        residual = self.project_in(x)
        indices = []
        for q in range(self.num_quantizers):
            scale = self._scales[q].to(x.device)
            codes = self.fsq.quantize(residual / scale) * scale
            residual = residual - codes
            indices.append(self.fsq.codes_to_indices(codes / scale))
        return torch.stack(indices, dim=-1)

    def detokenize(self, indices: torch.Tensor) -> torch.Tensor:
        """Indices (B, N, num_quantizers) -> (B, N, dim)."""
        codes = sum(self.fsq.indices_to_codes(indices[..., q]) * self._scales[q].to(indices.device)
                    for q in range(indices.shape[-1]))
        return self.project_out(codes)


class SpeakerEncoder(nn.Module):
    """Mel spectrogram (B, T, n_mels) <-> global tokens (B, token_num); tokens -> d-vector."""

    def __init__(self, input_dim: int, out_dim: int, latent_dim: int, token_num: int, fsq_levels,
                 fsq_num_quantizers: int = 1, ecapa_channels: int = 512, **_):
        super().__init__()
        self.speaker_encoder = EcapaTdnn(input_dim, out_dim, ecapa_channels)
        self.perceiver_sampler = PerceiverResampler(latent_dim, ecapa_channels * 3, token_num)
        self.quantizer = ResidualFSQ(fsq_levels, fsq_num_quantizers, latent_dim)
        self.project = nn.Linear(latent_dim * token_num, out_dim)
        self.token_num = token_num
        self.codebook_size = self.quantizer.fsq.codebook_size

    def tokenize(self, mels: torch.Tensor) -> torch.Tensor:
        _, features = self.speaker_encoder(mels)
        latents = self.perceiver_sampler(features.transpose(1, 2))
        return self.quantizer.tokenize(latents)[..., 0]

    def detokenize(self, tokens: torch.Tensor) -> torch.Tensor:
        latents = self.quantizer.detokenize(tokens.unsqueeze(-1))  # (B, N, latent_dim)
        # The original flattens its channel-first (B, latent_dim, N) layout.
        return self.project(latents.transpose(1, 2).reshape(latents.shape[0], -1))
