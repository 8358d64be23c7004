from django.core.management.base import BaseCommand

from voices.models import Voice
from voices.samples import store_missing_samples


class Command(BaseCommand):
    help = "Store the sample (the page's ▶ preview) of every enabled voice that has none; each is made once."

    def add_arguments(self, parser):
        parser.add_argument("--builtin", action="store_true", help="only the engines' built-in voices")

    def handle(self, *args, builtin=False, **options):
        voices = Voice.objects.enabled()
        if builtin:
            voices = voices.filter(is_builtin=True)
        made, failed = store_missing_samples(voices)
        for line in failed:
            self.stderr.write(line)
        self.stdout.write(f"stored {made} sample(s); {len(failed)} failed")
