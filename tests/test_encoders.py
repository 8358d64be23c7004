import numpy as np
import pytest

from synthesis.audio.encoders import FORMATS, UnsupportedFormat, make_encoder
from tests.audio import decode

RATE = 22050


def tone(seconds=1.0, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_streamed_format_decodes_from_its_first_chunk_to_its_last(fmt):
    encoder = make_encoder(fmt, RATE, streaming=True)
    chunks = [encoder.feed(tone()) for _ in range(3)] + [encoder.finish()]
    assert chunks[0], "the first chunk must carry audio (and headers)"
    rate = encoder.output_rate
    first, _ = decode(b"".join(chunks[:2]) if fmt == "opus" else chunks[0], fmt, rate)
    assert len(first) > 0
    whole, out_rate = decode(b"".join(chunks), fmt, rate)
    assert out_rate == rate
    assert len(whole) / out_rate == pytest.approx(3.0, abs=0.12)


@pytest.mark.parametrize("fmt", FORMATS)
def test_whole_files_have_the_right_rate_and_length(fmt):
    encoder = make_encoder(fmt, 24000, streaming=False)
    data = encoder.feed(tone(2.0, 24000)) + encoder.finish()
    samples, rate = decode(data, fmt, encoder.output_rate)
    assert rate == encoder.output_rate
    assert len(samples) / rate == pytest.approx(2.0, abs=0.12)


def test_a_whole_wav_has_exact_sizes():
    encoder = make_encoder("wav", RATE, streaming=False)
    data = encoder.feed(tone()) + encoder.finish()
    assert int.from_bytes(data[40:44], "little") == len(data) - 44


def test_opus_is_resampled_to_a_rate_it_supports():
    assert make_encoder("opus", 22050).output_rate == 48000


def test_an_unknown_format_is_refused():
    with pytest.raises(UnsupportedFormat):
        make_encoder("ogg_vorbis", RATE)
