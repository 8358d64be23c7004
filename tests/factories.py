"""People and their API keys for tests (a key made here carries its token, shown once in real life).

Plain functions: factory_boy is not among the test requirements, and these need nothing more.
"""
import itertools

from django.contrib.auth.models import User

from synthesis import keys
from synthesis.models import SCOPES

_numbers = itertools.count(1)
ALL_BUT_ADMIN = [s for s in SCOPES if s != "admin"]


def make_user(username: str | None = None) -> User:
    return User.objects.create_user(username or f"person{next(_numbers)}")


def make_key(scopes=None, owner: User | None = None, name: str | None = None, **limits):
    """An ApiKey (every scope but admin unless told) whose token is `key.token`."""
    key, token = keys.create_key(name or f"key{next(_numbers)}", owner or make_user(),
                                 ALL_BUT_ADMIN if scopes is None else scopes, **limits)
    key.token = token
    return key


def bearer(key) -> dict:
    """Test-client headers that authenticate with `key` (a key made here, or a token)."""
    return {"HTTP_AUTHORIZATION": f"Bearer {getattr(key, 'token', key)}"}
