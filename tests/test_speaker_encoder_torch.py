"""The numpy speaker encoder (synthesis/speaker/encoder.py) against resemblyzer's torch network
built from the same checkpoint: the same mel frames give the same embeddings."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthesis.speaker import encoder  # noqa: E402


class TorchVoiceEncoder(torch.nn.Module):
    """resemblyzer's VoiceEncoder network (3-layer LSTM, linear, ReLU, L2 norm), as in its source."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(encoder.N_MELS, encoder.HIDDEN, encoder.LAYERS, batch_first=True)
        self.linear = torch.nn.Linear(encoder.HIDDEN, 256)
        self.relu = torch.nn.ReLU()

    def forward(self, mels):
        _, (hidden, _) = self.lstm(mels)
        embeds_raw = self.relu(self.linear(hidden[-1]))
        return embeds_raw / torch.norm(embeds_raw, dim=1, keepdim=True)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    try:
        weights = encoder.resemblyzer_weights()
    except encoder.EncoderUnavailable as e:
        pytest.skip(str(e))
    state = torch.load(weights, map_location="cpu")["model_state"]
    reference = TorchVoiceEncoder()
    reference.load_state_dict({k: v for k, v in state.items() if k.startswith(("lstm.", "linear."))})
    reference.eval()
    port = encoder.SpeakerEncoder(encoder.convert(tmp_path_factory.mktemp("encoder")))
    return port, reference


def voice_like(seconds=3.0, f0=140.0, seed=0, rate=encoder.RATE):
    """A harmonic tone with a wandering pitch, formant-ish amplitude and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    wave = sum(np.sin(k * phase) / k * (1 + 0.5 * np.sin(2 * np.pi * (0.3 + k / 10) * t)) for k in range(1, 12))
    wave = wave * (0.6 + 0.4 * np.sin(2 * np.pi * 2.5 * t) ** 2) + 0.02 * rng.standard_normal(len(t))
    return (0.3 * wave / np.abs(wave).max()).astype(np.float32)


def torch_embed(reference, samples):
    """resemblyzer's embed_utterance over the port's frames: partial embeddings, mean, L2 norm."""
    wav = np.asarray(samples, np.float32)
    rms = float(np.sqrt(np.mean(wav ** 2)))
    gain = 10 ** ((-30 - 20 * np.log10(rms)) / 20)
    wav = wav * gain if gain > 1 else wav
    slices = encoder.partial_slices(len(wav))
    needed = slices[-1][1] * encoder.HOP
    wav = np.pad(wav, (0, max(0, needed - len(wav))))
    mel = encoder.mel_frames(wav)
    mels = torch.from_numpy(np.stack([mel[a:b] for a, b in slices]))
    with torch.no_grad():
        partials = reference(mels).numpy()
    mean = partials.mean(axis=0)
    return mean / np.linalg.norm(mean)


def test_the_lstm_port_gives_torchs_partial_embeddings(models):
    port, reference = models
    mels = np.abs(np.random.default_rng(1).standard_normal((3, encoder.PARTIAL_FRAMES, encoder.N_MELS))
                  ).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(mels)).numpy()
    assert np.allclose(port._forward(mels), expected, atol=1e-4)


@pytest.mark.parametrize("f0,seed", [(110.0, 0), (220.0, 1)])
def test_utterance_embeddings_match_the_torch_original(models, f0, seed):
    port, reference = models
    samples = voice_like(f0=f0, seed=seed)
    ours, theirs = port.embed(samples, encoder.RATE), torch_embed(reference, samples)
    assert ours.shape == (256,) and np.all(ours >= 0)
    assert encoder.cosine(ours, theirs) >= 0.999
    assert np.allclose(ours, theirs, atol=1e-3)


def test_the_spectrum_matches_torch_stft(models):
    """The framing and window under the mel filters: |STFT|^2 as torch computes it (centered, zero pad)."""
    wav = voice_like(seconds=1.0)
    spec = torch.stft(torch.from_numpy(wav), n_fft=encoder.N_FFT, hop_length=encoder.HOP,
                      window=torch.hann_window(encoder.N_FFT), center=True, pad_mode="constant",
                      return_complex=True).abs().pow(2).numpy().T  # (frames, bins)
    ours = encoder.mel_frames(wav)
    expected = spec @ encoder._FILTERS.T
    assert ours.shape == expected.shape
    assert np.allclose(ours, expected, rtol=1e-3, atol=1e-5 * expected.max())
