"""Settings of an LLM engine (from EngineOptions.extra) and device / dtype resolution."""
from __future__ import annotations

from dataclasses import dataclass, fields

from ..base import EngineError, EngineOptions

BACKENDS = ("torch", "vllm")
# Named by the seed's `serve`; refused at start with this reason.
UNSUPPORTED_BACKENDS = {
    "sglang": "not implemented; use vllm (continuous batching) or torch",
    "llama-cpp": "not implemented: the engines need logits-level constraints on a transformers checkpoint",
    "mlx-lm": "not implemented: Apple silicon only",
}
DTYPES = ("auto", "float32", "float16", "bfloat16")
ATTENTION = ("eager", "sdpa", "flash_attention_2", "flex_attention")
# transformers' names: the dynamic family grows with the text and lets finished rows leave a batch; the
# static family is preallocated to prompt + budget (the sliding/hybrid names are its deprecated aliases).
DYNAMIC_CACHES = ("dynamic", "offloaded")
STATIC_CACHES = ("static", "offloaded_static", "sliding_window", "hybrid", "hybrid_chunked", "offloaded_hybrid",
                 "offloaded_hybrid_chunked")


@dataclass
class LLMConfig:
    backend: str = "torch"
    model_path: str = ""
    snac_path: str = ""
    llm_device: str = "auto"
    tokenizer_device: str = "auto"  # the audio tokenizer (reference encoder), where an engine has one
    detokenizer_device: str = "auto"  # the codec decoder (SNAC)
    torch_dtype: str = "auto"
    max_length: int = 8192  # prompt + generated tokens
    llm_gpu_memory_utilization: float = 0.6  # vllm
    llm_batch_size: int = 8  # requests decoded together by the torch backend
    batch_size: int = 1  # codec windows decoded together
    wait_timeout: float = 0.01  # seconds a batch waits for company
    seed: int = 0  # server-wide seed for requests without one; 0: random
    enforce_eager: bool = False  # vllm: skip graph compilation (faster start, slower decoding)
    llm_attn_implementation: str = ""  # torch backend: transformers' attn_implementation ('' = its default)
    wav2vec_attn_implementation: str = ""  # Spark's wav2vec2 reference encoder, on every backend
    cache_implementation: str = ""  # torch backend: the generation cache ('' = dynamic)

    @classmethod
    def from_options(cls, options: EngineOptions) -> "LLMConfig":
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in options.extra.items() if k in names and v not in (None, "")}
        if options.model_path:
            values["model_path"] = options.model_path
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if self.backend in UNSUPPORTED_BACKENDS:
            raise EngineError(f"backend {self.backend!r}: {UNSUPPORTED_BACKENDS[self.backend]}")
        if self.backend not in BACKENDS:
            raise EngineError(f"unknown backend {self.backend!r}; known: {', '.join(BACKENDS)}")
        if self.torch_dtype not in DTYPES:
            raise EngineError(f"torch_dtype {self.torch_dtype!r}; one of {', '.join(DTYPES)}")
        for name in ("max_length", "llm_batch_size", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise EngineError(f"{name} must be at least 1")
        if not 0 < float(self.llm_gpu_memory_utilization) <= 1:
            raise EngineError("llm_gpu_memory_utilization must be in (0, 1]")
        if float(self.wait_timeout) < 0:
            raise EngineError("wait_timeout must be 0 or more")
        for name in ("llm_attn_implementation", "wav2vec_attn_implementation"):
            if getattr(self, name) and getattr(self, name) not in ATTENTION:
                raise EngineError(f"{name} {getattr(self, name)!r}; one of {', '.join(ATTENTION)}")
        if self.cache_implementation and self.cache_implementation not in DYNAMIC_CACHES + STATIC_CACHES:
            raise EngineError(f"cache_implementation {self.cache_implementation!r}; one of "
                              f"{', '.join(DYNAMIC_CACHES + STATIC_CACHES)}")

    def attention(self, name: str) -> dict:
        """from_pretrained keyword for an attention implementation flag ({} when unset)."""
        value = getattr(self, name)
        return {"attn_implementation": value} if value else {}


def resolve_device(name: str) -> str:
    """'auto' -> cuda when torch sees a GPU, else cpu; an explicit device must exist."""
    import torch

    name = (name or "auto").strip()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EngineError(f"device {name!r}: torch sees no CUDA device")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise EngineError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s)")
        return name
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise EngineError("device 'mps': not available")
        return name
    if name != "cpu":
        raise EngineError(f"unknown device {name!r}; auto, cpu, cuda, cuda:N or mps")
    return name


def resolve_dtype(name: str, device: str):
    """'auto' -> bfloat16 on a GPU that has it, float16 on other GPUs, float32 on the CPU."""
    import torch

    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return getattr(torch, name)
