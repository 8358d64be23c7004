"""resemblyzer's speaker encoder (3-layer LSTM over 40 mel bands) in numpy: no torch needed.

The weights come from the `resemblyzer` PyPI package (installed without its dependencies),
converted once into an .npz cache. Embeddings are 256-d, non-negative and L2-normalized.
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
from scipy.special import expit

from ..audio import effects
from ..audio.mel import slaney_mel_filters

RATE = 16000
N_FFT, HOP, N_MELS = 400, 160, 40
PARTIAL_FRAMES = 160
HIDDEN, LAYERS = 256, 3


class EncoderUnavailable(RuntimeError):
    pass


def resemblyzer_weights() -> Path:
    """pretrained.pt inside the installed resemblyzer package, found without importing it (torch)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable("the resemblyzer package (its weights) is not installed: "
                                 "pip install --no-deps resemblyzer==0.1.4")
    path = Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"
    if not path.exists():
        raise EncoderUnavailable(f"{path} is missing")
    return path


def convert(cache: Path) -> Path:
    """Convert resemblyzer's checkpoint into an .npz of LSTM and linear weights (once)."""
    from . import torchfile

    out = cache / "speaker_encoder.npz"
    if out.exists():
        return out
    state = torchfile.load(resemblyzer_weights())["model_state"]
    cache.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, **{k.replace(".", "__"): v.astype(np.float32) for k, v in state.items()
                     if k.startswith(("lstm.", "linear."))})
    tmp.replace(out)
    return out


_FILTERS = slaney_mel_filters(RATE, N_FFT, N_MELS, 0.0, RATE / 2).T  # (N_MELS, N_FFT // 2 + 1)
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic hann


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """Mel power spectrogram (frames, N_MELS) like librosa.feature.melspectrogram (center, zero pad)."""
    padded = np.pad(wav, (N_FFT // 2, N_FFT // 2))
    count = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(padded, shape=(count, N_FFT),
                                             strides=(padded.strides[0] * HOP, padded.strides[0]))
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    return (power @ _FILTERS.T).astype(np.float32)


def partial_slices(n_samples: int, rate: float = 1.3, min_coverage: float = 0.75) -> list[tuple[int, int]]:
    """Mel-frame ranges of the 1.6 s partial utterances, as resemblyzer computes them."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round((RATE / rate) / HOP))
    slices = [(i, i + PARTIAL_FRAMES) for i in range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step)]
    last_start = slices[-1][0] * HOP
    coverage = (n_samples - last_start) / (PARTIAL_FRAMES * HOP)
    if coverage < min_coverage and len(slices) > 1:
        slices = slices[:-1]
    return slices


class SpeakerEncoder:
    def __init__(self, weights: Path):
        w = np.load(weights)
        self.layers = [(w[f"lstm__weight_ih_l{k}"], w[f"lstm__weight_hh_l{k}"],
                        w[f"lstm__bias_ih_l{k}"] + w[f"lstm__bias_hh_l{k}"]) for k in range(LAYERS)]
        self.linear_w, self.linear_b = w["linear__weight"], w["linear__bias"]

    def _forward(self, mels: np.ndarray) -> np.ndarray:
        """(batch, frames, N_MELS) -> (batch, 256) normalized partial embeddings."""
        x = mels
        for w_ih, w_hh, bias in self.layers:
            batch, steps, _ = x.shape
            h = np.zeros((batch, HIDDEN), np.float32)
            c = np.zeros((batch, HIDDEN), np.float32)
            inputs = x @ w_ih.T + bias  # all time steps at once
            outputs = np.empty((batch, steps, HIDDEN), np.float32)
            for t in range(steps):
                gates = inputs[:, t] + h @ w_hh.T
                i, f, g, o = np.split(gates, 4, axis=1)
                c = expit(f) * c + expit(i) * np.tanh(g)
                h = expit(o) * np.tanh(c)
                outputs[:, t] = h
            x = outputs
        embeds = np.maximum(0, h @ self.linear_w.T + self.linear_b)
        return embeds / np.maximum(np.linalg.norm(embeds, axis=1, keepdims=True), 1e-9)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Utterance embedding (256,) of float32 mono audio at any rate."""
        wav = effects.resample(np.asarray(samples, np.float32), sample_rate, RATE)
        rms = float(np.sqrt(np.mean(wav ** 2))) if wav.size else 0.0
        if rms > 0:
            gain = 10 ** ((-30 - 20 * np.log10(rms)) / 20)
            wav = wav * gain if gain > 1 else wav  # resemblyzer raises quiet audio to -30 dBFS
        slices = partial_slices(len(wav))
        needed = slices[-1][1] * HOP
        if needed > len(wav):
            wav = np.pad(wav, (0, needed - len(wav)))
        mel = mel_frames(wav)
        mels = np.stack([mel[a:b] for a, b in slices])
        partials = self._forward(mels)
        mean = partials.mean(axis=0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)


_encoder: SpeakerEncoder | None = None
_lock = threading.Lock()


def get_encoder(cache: Path) -> SpeakerEncoder:
    global _encoder
    if _encoder is None:
        with _lock:
            if _encoder is None:
                _encoder = SpeakerEncoder(convert(cache))
    return _encoder


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
