"""LLM backends: run a causal LM over `Generation` requests and stream their tokens.

`torch` runs a transformers model with its own decode loop: requests that arrive within
`wait_timeout` of each other (up to `llm_batch_size`) are prefilled together (left-padded) and
decoded step by step in one batch, each row sampled with its own seeded generator, finished rows
leaving the batch. Requests arriving while a batch runs form the next one. `vllm` hands requests to
vLLM's async engine, which batches continuously (see vllm_backend.py).
"""
from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod

from ..base import EngineError
from .config import STATIC_CACHES, LLMConfig, resolve_device, resolve_dtype
from .generation import Generation, sample_next

logger = logging.getLogger(__name__)


class LLMBackend(ABC):
    name = ""

    def __init__(self, config: LLMConfig):
        self.config = config

    @abstractmethod
    def load(self, pad_id: int) -> None:
        """Load the model from config.model_path (a local directory; nothing is downloaded)."""

    @abstractmethod
    def submit(self, generation: Generation) -> Generation:
        """Start generating; tokens arrive on the returned object."""

    def check_prompt(self, generation: Generation) -> None:
        if len(generation.prompt) >= self.config.max_length:
            raise EngineError(f"prompt of {len(generation.prompt)} tokens does not fit max_length "
                              f"{self.config.max_length}")

    def budget(self, generation: Generation) -> int:
        """Tokens this request may generate: its max_tokens within max_length."""
        return max(1, min(generation.sampling.max_tokens, self.config.max_length - len(generation.prompt)))

    def shutdown(self) -> None:
        pass


def make_backend(config: LLMConfig) -> LLMBackend:
    if config.backend == "vllm":
        from .vllm_backend import VLLMBackend

        return VLLMBackend(config)
    return TorchBackend(config)


class TorchBackend(LLMBackend):
    name = "torch"

    def __init__(self, config: LLMConfig):
        super().__init__(config)
        self._pending: list[Generation] = []
        self._cond = threading.Condition()
        self._closed = False
        self.batches: list[int] = []  # sizes of the batches run (metrics and tests)

    def load(self, pad_id: int) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        self.device = resolve_device(self.config.llm_device)
        self.dtype = resolve_dtype(self.config.torch_dtype, self.device)
        try:
            model = AutoModelForCausalLM.from_pretrained(self.config.model_path, dtype=self.dtype,
                                                         local_files_only=True,
                                                         **self.config.attention("llm_attn_implementation"))
        except (OSError, ValueError) as e:
            raise EngineError(f"cannot load the language model from {self.config.model_path!r}: {e}") from e
        self.model = model.to(self.device).eval()
        self.pad_id = pad_id
        self._torch = torch
        threading.Thread(target=self._loop, name="llm-torch-batcher", daemon=True).start()

    def submit(self, generation: Generation) -> Generation:
        self.check_prompt(generation)
        with self._cond:
            self._pending.append(generation)
            self._cond.notify()
        return generation

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def new_cache(self, length: int):
        """The generation cache --cache_implementation names, for a batch that may reach `length` tokens."""
        from transformers import DynamicCache, StaticCache

        kind = self.config.cache_implementation or "dynamic"
        offloading = kind.startswith("offloaded") and self.device.startswith("cuda")  # on the CPU it already is
        if kind in STATIC_CACHES:
            return StaticCache(config=self.model.config, max_cache_len=length, offloading=offloading)
        return DynamicCache(config=self.model.config, offloading=offloading)

    def _keep_all_rows(self, rows, next_ids, keep):
        """Every row goes on (a static cache cannot drop one): finished rows are fed a pad token."""
        tokens = dict(zip(keep, next_ids))
        return [tokens.get(row, self.pad_id) for row in range(len(rows))], list(range(len(rows)))

    # the batching loop -----------------------------------------------------------------
    def _collect(self) -> list[Generation]:
        """The next batch: the first waiting request plus those arriving within wait_timeout."""
        size = self.config.llm_batch_size
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            deadline = time.monotonic() + self.config.wait_timeout
            while len(self._pending) < size and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch, self._pending = self._pending[:size], self._pending[size:]
        for generation in batch:
            if generation.cancelled:
                generation.finish()
        return [g for g in batch if not g.cancelled]

    def _loop(self) -> None:
        while not self._closed:
            batch = self._collect()
            if not batch:
                continue
            self.batches.append(len(batch))
            try:
                self.generate(batch)
            except Exception as e:  # every request of the batch fails with the model's error
                logger.exception("LLM batch of %s failed", len(batch))
                for generation in batch:
                    generation.finish(EngineError(f"generation failed: {e}"))

    def generate(self, batch: list[Generation]) -> None:
        """Decode `batch` to the end, streaming each row's tokens as they are sampled."""
        torch = self._torch
        with torch.inference_mode():
            rows = list(range(len(batch)))  # batch index of each live row of the model's batch
            longest = max(len(g.prompt) for g in batch)
            ids = torch.full((len(batch), longest), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for i, g in enumerate(batch):
                ids[i, longest - len(g.prompt):] = torch.tensor(g.prompt)
                mask[i, longest - len(g.prompt):] = 1
            ids, mask = ids.to(self.device), mask.to(self.device)
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            generators = [torch.Generator(device=self.device).manual_seed(g.sampling.resolved_seed())
                          for g in batch]
            budgets = [self.budget(g) for g in batch]
            cache = self.new_cache(longest + max(budgets))
            static = self.config.cache_implementation in STATIC_CACHES
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                             use_cache=True)
            cache, logits = out.past_key_values, out.logits[:, -1, :]
            # requests (batch indices) that are done; a static cache keeps their rows in the batch,
            # a dynamic one drops them, so a row number may name another request after a drop
            finished: set[int] = set()
            while True:
                next_ids, keep = [], []
                for row, i in enumerate(rows):
                    g = batch[i]
                    if i in finished:
                        continue
                    token = None if g.cancelled else sample_next(logits[row], g, generators[i])
                    if token is None or token in g.stop_ids:
                        g.finish()
                        finished.add(i)
                        continue
                    g.emit(token)
                    if len(g.tokens) >= budgets[i]:
                        g.finish()
                        finished.add(i)
                        continue
                    next_ids.append(token)
                    keep.append(row)
                if not keep:
                    return
                if static:  # a preallocated cache keeps its rows: finished ones decode a pad and are ignored
                    next_ids, keep = self._keep_all_rows(rows, next_ids, keep)
                elif len(keep) < len(rows):  # finished rows leave the batch
                    index = torch.tensor(keep, device=self.device)
                    cache.batch_select_indices(index)
                    mask, positions = mask[index], positions[index]
                    rows = [rows[r] for r in keep]
                step = torch.tensor(next_ids, device=self.device).unsqueeze(1)
                mask = torch.cat([mask, torch.ones_like(step)], dim=1)
                positions = positions[:, -1:] + 1
                out = self.model(input_ids=step, attention_mask=mask, position_ids=positions,
                                 past_key_values=cache, use_cache=True)
                cache, logits = out.past_key_values, out.logits[:, -1, :]
