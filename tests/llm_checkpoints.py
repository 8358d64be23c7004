"""Tiny random checkpoints in the layouts the LLM engines load (tests, benchmarks, smoke checks).

`make_orpheus(folder)` writes a 2-layer Llama with a byte-level BPE tokenizer that has Orpheus's
special and audio tokens (transformers' save_pretrained layout), and `make_snac(folder)` a small
24 kHz SNAC built from its config (config.json + pytorch_model.bin, the layout of
hubertsiuzdak/snac_24khz). They speak noise: they exercise the real loading, generation,
constraint and decoding code without downloading weights.
"""
from __future__ import annotations

import json
from pathlib import Path

CORPUS = [
    "tara: Hello there, how are you today?",
    "leo: The quick brown fox jumps over the lazy dog.",
    "Orpheus speaks in tokens of sound, seven to a frame.",
    "Numbers like 42 and 3.14 are read aloud; so is punctuation!",
]


def make_orpheus(folder, codebook_size: int = 64, hidden: int = 64, layers: int = 2, seed: int = 0) -> str:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=320, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    specials += [f"<custom_token_{n}>" for n in range(10 + 7 * codebook_size)]
    tok.add_special_tokens(specials)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                                       special_tokens=[("<|begin_of_text|>", bos)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>",
                                   eos_token="<|eot_id|>", pad_token="<custom_token_7>")
    fast.save_pretrained(folder)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=4096, bos_token_id=bos,
                         eos_token_id=tok.token_to_id("<custom_token_2>"),
                         pad_token_id=tok.token_to_id("<custom_token_7>"), tie_word_embeddings=False)
    LlamaForCausalLM(config).save_pretrained(folder)
    return str(folder)


def make_snac(folder, codebook_size: int = 64, seed: int = 0) -> str:
    import torch
    from snac import SNAC

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"sampling_rate": 24000, "encoder_dim": 8, "encoder_rates": [2, 4, 8, 8], "decoder_dim": 64,
              "decoder_rates": [8, 8, 4, 2], "attn_window_size": None, "codebook_size": codebook_size,
              "codebook_dim": 4, "vq_strides": [4, 2, 1], "noise": True, "depthwise": True}
    torch.manual_seed(seed)
    model = SNAC(**config)
    (folder / "config.json").write_text(json.dumps(config))
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return str(folder)


SPARK_CORPUS = [
    "Hello there, how are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "Spark speaks in global tokens for the voice and semantic tokens for the words.",
    "你好，今天天气很好。",
]


def spark_special_tokens(semantic: int, global_: int) -> list[str]:
    """Spark-TTS's added tokens (task, content, style and codec markers, codec tokens)."""
    names = ["task_tts", "task_controllable_tts", "start_content", "end_content", "start_style_label",
             "end_style_label", "start_global_token", "end_global_token", "start_semantic_token",
             "end_semantic_token", "gender_0", "gender_1"]
    names += [f"{kind}_label_{n}" for kind in ("pitch", "speed") for n in range(5)]
    names += [f"bicodec_global_{n}" for n in range(global_)]
    names += [f"bicodec_semantic_{n}" for n in range(semantic)]
    return [f"<|{name}|>" for name in names]


def make_spark(folder, semantic_codebook: int = 512, fsq_levels=(4, 4, 4), hidden: int = 64, layers: int = 2,
               seed: int = 0) -> str:
    """A Spark-TTS release directory (config.yaml, BiCodec/, LLM/, wav2vec2-large-xlsr-53/) with
    tiny random weights: a 2-layer Qwen2, a 16-layer 32-wide wav2vec2, a narrow BiCodec."""
    import torch
    import yaml

    folder = Path(folder)
    torch.manual_seed(seed)
    (folder / "config.yaml").parent.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump({
        "sample_rate": 16000, "latent_hop_length": 320, "ref_segment_duration": 6, "volume_normalize": True,
        "highpass_cutoff_freq": 40, "segment_duration": 2.4, "max_val_duration": 12}))
    _tiny_wav2vec2(folder / "wav2vec2-large-xlsr-53", width=32)
    _tiny_bicodec(folder / "BiCodec", features=32, semantic_codebook=semantic_codebook, fsq_levels=list(fsq_levels))
    global_codebook = 1
    for level in fsq_levels:
        global_codebook *= level
    _tiny_qwen2(folder / "LLM", spark_special_tokens(semantic_codebook, global_codebook), hidden, layers)
    return str(folder)


def _tiny_wav2vec2(folder: Path, width: int) -> None:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(hidden_size=width, num_hidden_layers=16, num_attention_heads=2,
                            intermediate_size=2 * width, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
                            num_conv_pos_embedding_groups=4, do_stable_layer_norm=True, feat_extract_norm="layer")
    Wav2Vec2Model(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                             return_attention_mask=True).save_pretrained(folder)


def _tiny_bicodec(folder: Path, features: int, semantic_codebook: int, fsq_levels: list[int]) -> None:
    """BiCodec in the release's layout: weight-normed layers as parametrizations (g, v), plus a
    postnet and usage statistics, which the loader must skip."""
    import torch
    import yaml
    from safetensors.torch import save_file

    from synthesis.engines.llm.bicodec import BiCodec
    from synthesis.engines.llm.bicodec_blocks import FeatureDecoder

    vocos = {"vocos_dim": 32, "vocos_intermediate_dim": 64, "vocos_num_layers": 2, "sample_ratios": [1, 1]}
    config = {"audio_tokenizer": {
        "mel_params": {"sample_rate": 16000, "n_fft": 1024, "win_length": 640, "hop_length": 320,
                       "mel_fmin": 10, "mel_fmax": None, "num_mels": 128},
        "encoder": {"input_channels": features, "out_channels": 32, **vocos},
        "quantizer": {"input_dim": 32, "codebook_size": semantic_codebook, "codebook_dim": 8, "commitment": 0.25},
        "speaker_encoder": {"input_dim": 128, "out_dim": 32, "latent_dim": 16, "token_num": 32,
                            "fsq_levels": fsq_levels, "fsq_num_quantizers": 1, "ecapa_channels": 64},
        "prenet": {"input_channels": 32, "out_channels": 32, "condition_dim": 32, "use_tanh_at_final": False,
                   **vocos},
        "postnet": {"input_channels": 32, "out_channels": 32, "use_tanh_at_final": False, **vocos},
        "decoder": {"input_channel": 32, "channels": 64, "rates": [8, 5, 4, 2], "kernel_sizes": [16, 11, 8, 4]},
    }}
    model = BiCodec(config["audio_tokenizer"])
    torch.nn.init.normal_(model.speaker_encoder.perceiver_sampler.latents, std=1.0)
    for module in model.modules():  # lively random weights: the default init of a few layers is near zero
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    state = {}
    for key, tensor in model.state_dict().items():
        owner = model.get_submodule(key.rpartition(".")[0])
        if getattr(owner, "weight_normed", False) and key.endswith(".weight"):
            norm = tensor.flatten(1).norm(dim=1).view(-1, *([1] * (tensor.dim() - 1)))
            state[key[:-len("weight")] + "parametrizations.weight.original0"] = norm.clone()
            state[key[:-len("weight")] + "parametrizations.weight.original1"] = tensor.clone()
        else:
            state[key] = tensor.clone()
    state.update({f"postnet.{k}": v for k, v in FeatureDecoder(**config["audio_tokenizer"]["postnet"])
                 .state_dict().items()})
    state["quantizer.cluster_size"] = torch.zeros(semantic_codebook)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "model.safetensors"))


def _tiny_qwen2(folder: Path, specials: list[str], hidden: int, layers: int) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(SPARK_CORPUS, trainers.BpeTrainer(
        vocab_size=320, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>", *specials])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.save_pretrained(folder)
    config = Qwen2Config(vocab_size=tok.get_vocab_size(), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=4096, eos_token_id=tok.token_to_id("<|im_end|>"),
                         pad_token_id=tok.token_to_id("<|endoftext|>"), tie_word_embeddings=True)
    Qwen2ForCausalLM(config).to(torch.float32).save_pretrained(folder)
