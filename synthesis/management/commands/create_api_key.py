"""manage.py create_api_key NAME --owner USER [--scopes speak,clone] [--requests-per-minute N]
[--characters-per-day N] [--expires-in-days N]: prints the token once."""
from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from django.utils import timezone

from synthesis import keys
from synthesis.models import SCOPES


class Command(BaseCommand):
    help = "Create an API key for a user and print its token (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the key's name (shown in usage and metrics)")
        parser.add_argument("--owner", required=True, help="username of the key's owner (made if --create-owner)")
        parser.add_argument("--create-owner", action="store_true", help="make the owner (no password) if absent")
        parser.add_argument("--scopes", default="speak", help=f"comma-separated: {', '.join(SCOPES)}")
        parser.add_argument("--requests-per-minute", type=int, default=None)
        parser.add_argument("--characters-per-day", type=int, default=None)
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, **opts):
        users = get_user_model()
        owner = users.objects.filter(username=opts["owner"]).first()
        if owner is None and opts["create_owner"]:
            owner = users.objects.create_user(opts["owner"])
        if owner is None:
            raise CommandError(f"no user {opts['owner']!r} (create one, or pass --create-owner)")
        scopes = [s.strip() for s in opts["scopes"].split(",") if s.strip()]
        expires = timezone.now() + timedelta(days=opts["expires_in_days"]) if opts["expires_in_days"] else None
        for limit in ("requests_per_minute", "characters_per_day"):
            if opts[limit] is not None and opts[limit] < 1:
                raise CommandError(f"--{limit.replace('_', '-')} must be at least 1")
        try:
            key, token = keys.create_key(opts["name"], owner, scopes,
                                         requests_per_minute=opts["requests_per_minute"],
                                         characters_per_day=opts["characters_per_day"], expires_at=expires)
        except ValueError as e:
            raise CommandError(str(e)) from e
        except IntegrityError as e:
            raise CommandError(f"a key named {opts['name']!r} exists already") from e
        self.stderr.write(f"API key {key.name!r} for {owner.get_username()} ({', '.join(key.scopes) or 'no scopes'}); "
                          "the token below is shown only now:")
        self.stdout.write(token)
