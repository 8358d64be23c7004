import numpy as np

from synthesis.audio import effects


def dominant_frequency(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))]


def test_the_limiter_never_lets_a_sample_clip():
    rate = 16000
    t = np.arange(rate) / rate
    loud = (1.8 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    limited = effects.limit(loud, rate)
    assert np.max(np.abs(limited)) <= effects.CEILING + 1e-6
    assert np.max(np.abs(limited)) > 0.8


def test_the_limiter_leaves_quiet_audio_untouched():
    quiet = np.full(1000, 0.3, dtype=np.float32)
    assert np.array_equal(effects.limit(quiet, 16000), quiet)


def test_pitch_shift_raises_the_frequency_by_the_semitones_asked():
    rate = 16000
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 200 * t).astype(np.float32)
    shifted = effects.shift_pitch(tone, 12.0)
    assert dominant_frequency(shifted, rate) == np_approx(400, 5)


def test_resampling_keeps_duration():
    samples = np.zeros(22050, dtype=np.float32)
    assert len(effects.resample(samples, 22050, 16000)) == 16000


def np_approx(value, tolerance):
    import pytest

    return pytest.approx(value, abs=tolerance)
