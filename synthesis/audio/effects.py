"""Post-processing on float32 mono audio: limiter, pitch shift, resampling."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

CEILING = 0.97  # about -0.26 dBFS: headroom for lossy encoders' overshoot


def limit(samples: np.ndarray, sample_rate: int, ceiling: float = CEILING) -> np.ndarray:
    """Look-ahead peak limiter: smooth gain reduction, no sample above the ceiling."""
    samples = np.asarray(samples, dtype=np.float32)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak <= ceiling:
        return samples
    window = max(3, int(sample_rate * 0.005))  # 5 ms attack / release
    envelope = maximum_filter1d(np.abs(samples), size=2 * window + 1)
    gain = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-9))
    gain = uniform_filter1d(gain, size=2 * window + 1)
    gain = np.minimum(gain, ceiling / np.maximum(np.abs(samples), 1e-9))  # hard guarantee
    return (samples * np.minimum(gain, 1.0)).astype(np.float32)


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Band-limited polyphase resampling."""
    if src_rate == dst_rate or samples.size == 0:
        return np.asarray(samples, dtype=np.float32)
    ratio = Fraction(dst_rate, src_rate).limit_denominator(1000)
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def pitch_factor(semitones: float) -> float:
    return float(2.0 ** (semitones / 12.0))


def shift_pitch(samples: np.ndarray, semitones: float) -> np.ndarray:
    """Raise or lower pitch by resampling; duration shrinks by the same factor.

    The engine is asked for speech that much slower (or faster) beforehand,
    so the net duration is what the caller asked for.
    """
    if not semitones or samples.size == 0:
        return samples
    factor = Fraction(pitch_factor(semitones)).limit_denominator(200)
    return resample_poly(samples, factor.denominator, factor.numerator).astype(np.float32)


def silence(seconds: float, sample_rate: int) -> np.ndarray:
    return np.zeros(int(round(seconds * sample_rate)), dtype=np.float32)
