"""What an engine asks of an LLM backend, and the token sampling the torch backend uses.

A `Generation` is one request: prompt token ids, sampling settings, stop tokens and a
`FrameConstraint` that limits each position to the audio tokens valid there. Its tokens arrive
on the object itself (an iterator), so the engine decodes audio while generation goes on.
"""
from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass, field

_DONE = object()


@dataclass(frozen=True)
class Sampling:
    """Sampling settings with every value filled in (the engine applies its defaults)."""

    temperature: float = 0.6
    top_k: int = 0  # 0: off
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    max_tokens: int = 1200
    seed: int | None = None

    def resolved_seed(self) -> int:
        return self.seed if self.seed is not None else int.from_bytes(os.urandom(4), "little")


@dataclass(frozen=True)
class FrameConstraint:
    """Audio tokens come in frames of `per_frame` positions; position i of a frame may only be
    one of the `codebook_size` ids starting at base + i * codebook_size. The end ids (end of
    speech) are allowed at frame boundaries only, so a stream never ends with half a frame.

    `lead`: [lo, hi) windows for the first generated positions, before the frames start (Spark's
    controllable mode: 32 global tokens, then its end and start-semantic markers, then frames)."""

    base: int
    codebook_size: int
    per_frame: int = 7
    end_ids: tuple[int, ...] = ()
    lead: tuple[tuple[int, int], ...] = ()

    def window(self, position: int) -> tuple[int, int]:
        """[lo, hi) of the token ids allowed at generated position `position`."""
        if position < len(self.lead):
            return self.lead[position]
        lo = self.base + ((position - len(self.lead)) % self.per_frame) * self.codebook_size
        return lo, lo + self.codebook_size

    def ends_allowed(self, position: int) -> bool:
        return position >= len(self.lead) and (position - len(self.lead)) % self.per_frame == 0

    def as_dict(self) -> dict:
        return {"base": self.base, "codebook_size": self.codebook_size, "per_frame": self.per_frame,
                "end_ids": list(self.end_ids), "lead": [list(w) for w in self.lead]}

    @classmethod
    def from_dict(cls, spec: dict) -> "FrameConstraint":
        return cls(spec["base"], spec["codebook_size"], spec["per_frame"], tuple(spec["end_ids"]),
                   tuple((int(lo), int(hi)) for lo, hi in spec.get("lead", ())))


@dataclass(eq=False)
class Generation:
    """One generation request and, as an iterator, its generated tokens (stop tokens excluded)."""

    prompt: list[int]
    sampling: Sampling
    stop_ids: tuple[int, ...] = ()
    constraint: FrameConstraint | None = None
    cancelled: bool = False
    tokens: list[int] = field(default_factory=list)
    _queue: queue.Queue = field(default_factory=queue.Queue)
    _done: threading.Event = field(default_factory=threading.Event)

    # backend side
    def emit(self, token: int) -> None:
        self.tokens.append(token)
        self._queue.put(token)

    def finish(self, error: BaseException | None = None) -> None:
        if not self._done.is_set():
            self._done.set()
            self._queue.put(error if error is not None else _DONE)

    # engine side
    def cancel(self) -> None:
        """Stop generating; the backend drops the request at its next step."""
        self.cancelled = True

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


def sample_next(logits, generation: Generation, generator):
    """The next token of one row: constraint, repetition penalty, temperature, top-k, top-p.

    `logits` is this row's float32 logits (1-D, on any device); `generator` a torch.Generator
    on that device seeded for the request, so a seed gives the same tokens whether the row ran
    alone or in a batch.
    """
    import torch

    s = generation.sampling
    logits = logits.float().clone()
    position = len(generation.tokens)
    c = generation.constraint
    if c is not None:
        lo, hi = c.window(position)
        allowed = torch.zeros_like(logits, dtype=torch.bool)
        allowed[lo:hi] = True
        if c.ends_allowed(position):
            allowed[list(c.end_ids)] = True
        logits = logits.masked_fill(~allowed, float("-inf"))
    if s.repetition_penalty != 1.0 and generation.tokens:
        seen = torch.tensor(sorted(set(generation.tokens)), device=logits.device)
        picked = logits[seen]
        logits[seen] = torch.where(picked > 0, picked / s.repetition_penalty, picked * s.repetition_penalty)
    if s.temperature <= 1e-5:
        return int(torch.argmax(logits))
    logits = logits / s.temperature
    if 0 < s.top_k < logits.numel():
        kth = torch.topk(logits, s.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if s.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        drop = cumulative - torch.softmax(sorted_logits, dim=-1) >= s.top_p  # keep the first over top_p
        logits[order[drop]] = float("-inf")
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))
