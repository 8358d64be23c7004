"""Who may see, use and change a catalog voice: public voices and the caller's owner's own
(synthesis.keys.current is the caller of the request being served)."""
from __future__ import annotations

from synthesis import keys
from synthesis.errors import Forbidden, VoiceNotFound

from .models import Voice


def usable():
    """Enabled voices the current caller may list and use (synthesis.keys.current)."""
    return Voice.objects.enabled().visible_to(keys.current())


def ownership() -> dict:
    """Who a voice made now belongs to: a person's key makes a private voice of its owner; the
    server key, an open server and the server's own work make public ones, as before keys."""
    principal = keys.current()
    if principal is None or principal.key_id is None:
        return {}
    return {"owner_id": principal.owner_id, "api_key_id": principal.key_id, "is_public": False,
            "created_by": principal.name}


def changeable(name: str, field: str, label: str = "voice", deleting: bool = False) -> Voice:
    """The voice `name` if the caller may change (or delete) it: 404 if it cannot see it, 403 for
    deleting a built-in voice or (for a key without the admin scope) a voice its owner does not own."""
    principal = keys.current()
    voice = Voice.objects.visible_to(principal).filter(name=name).first()
    if voice is None:
        raise VoiceNotFound(f"{label} {name!r} not found", field=field)
    if deleting and voice.is_builtin:
        raise Forbidden(f"{label} {name!r} is built in; built-in voices cannot be deleted through the API",
                        field=field)
    if principal is not None and not principal.sees_everything and voice.owner_id != principal.owner_id:
        raise Forbidden(f"{label} {name!r} belongs to someone else", field=field)
    return voice

