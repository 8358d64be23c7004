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


class StreamResampler:
    """Resampling of a stream fed in pieces (stateful, so the pieces join without edges)."""

    def __init__(self, src_rate: int, dst_rate: int):
        self.src_rate, self.dst_rate = src_rate, dst_rate
        self._resampler = None
        self._pts = 0
        if src_rate != dst_rate:
            import av

            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=dst_rate)

    def _run(self, frame) -> np.ndarray:
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)

    def feed(self, samples: np.ndarray) -> np.ndarray:
        if self._resampler is None or samples.size == 0:
            return np.asarray(samples, dtype=np.float32)
        import av

        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1),
                                           format="flt", layout="mono")
        frame.sample_rate, frame.pts = self.src_rate, self._pts
        self._pts += samples.size
        return self._run(frame)

    def flush(self) -> np.ndarray:
        return self._run(None) if self._resampler is not None else np.zeros(0, dtype=np.float32)


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
