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
