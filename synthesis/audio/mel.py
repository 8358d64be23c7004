"""The Slaney mel filter bank, shared by the speaker encoder and the BiCodec engine (pure numpy)."""
from __future__ import annotations

import math

import numpy as np


def slaney_mel_filters(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) triangular filters on the Slaney mel scale, area-normalised
    (the filter bank of torchaudio's MelSpectrogram(norm="slaney", mel_scale="slaney"))."""
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, math.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp

    def to_mel(hz: float) -> float:
        return hz / f_sp if hz < min_log_hz else min_log_mel + math.log(hz / min_log_hz) / logstep

    mels = np.linspace(to_mel(f_min), to_mel(f_max), n_mels + 2)
    hz = np.where(mels < min_log_mel, mels * f_sp, min_log_hz * np.exp(logstep * (mels - min_log_mel)))
    freqs = np.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    slopes = hz[None, :] - freqs[:, None]
    widths = np.diff(hz)
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    return (filters * (2.0 / (hz[2:] - hz[:-2]))[None, :]).astype(np.float32)
