from django.core.management.base import BaseCommand, CommandError

from synthesis import services as synthesis_services
from synthesis.errors import TTSError
from voices.services import import_role_dir


def prepare(data: bytes):
    return synthesis_services.prepare_reference(data, "audio")


class Command(BaseCommand):
    help = "Import a role directory: one folder per role with an audio file and an optional transcript .txt"

    def add_arguments(self, parser):
        parser.add_argument("directory")

    def handle(self, directory, **options):
        try:
            imported, skipped = import_role_dir(directory, prepare)
        except TTSError as e:
            raise CommandError(str(e)) from e
        for name in imported:
            self.stdout.write(f"imported {name}")
        for reason in skipped:
            self.stdout.write(f"skipped {reason}")
        self.stdout.write(self.style.SUCCESS(f"{len(imported)} imported, {len(skipped)} skipped"))
