"""The LM tokenizer of a codec-LLM engine: loaded from a local directory, special tokens looked up."""
from __future__ import annotations

from pathlib import Path

from ..base import EngineError


def load_tokenizer(folder: str | Path):
    """A transformers tokenizer from a local directory (nothing is downloaded)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as e:
        raise EngineError(f"cannot load the tokenizer from {str(folder)!r}: {e}") from e


def find_token(tokenizer, token: str) -> int | None:
    """The id of `token`, or None when the tokenizer does not have it (it would map to unk)."""
    token_id = tokenizer.convert_tokens_to_ids(token)
    if token_id is None or (token_id == tokenizer.unk_token_id and token != tokenizer.unk_token):
        return None
    return token_id
