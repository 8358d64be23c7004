"""`<role:name>` tags for multi-speaker text."""
from __future__ import annotations

import re

_TAG = re.compile(r"<role:([^<>]+?)>")


class RoleTagError(ValueError):
    pass


def split_roles(text: str) -> list[tuple[str, str]]:
    """[(role name, text)] in order; text before the first tag is an error."""
    parts = _TAG.split(text)
    if parts[0].strip():
        raise RoleTagError("text must start with a <role:name> tag")
    turns = []
    for name, body in zip(parts[1::2], parts[2::2]):
        if body.strip():
            turns.append((name.strip(), body.strip()))
    if not turns:
        raise RoleTagError("text holds no <role:name> tag followed by text")
    return turns
