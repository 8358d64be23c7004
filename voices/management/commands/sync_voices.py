from django.core.management.base import BaseCommand, CommandError

from synthesis import services as synthesis_services
from synthesis.errors import TTSError
from voices.services import sync_builtin_voices


class Command(BaseCommand):
    help = "Load the configured engines and register their built-in voices in the catalog"

    def handle(self, **options):
        try:
            engines = synthesis_services.load_engines()
        except TTSError as e:
            raise CommandError(str(e)) from e
        added = sync_builtin_voices(engines)
        self.stdout.write(self.style.SUCCESS(f"{added} voices added from {', '.join(engines)}"))
