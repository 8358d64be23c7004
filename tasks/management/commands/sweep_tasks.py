from django.core.management.base import BaseCommand

from tasks.services import sweep


class Command(BaseCommand):
    help = "Fail tasks whose worker stopped responding and delete results past retention"

    def handle(self, **options):
        result = sweep()
        self.stdout.write(f"{result['failed']} stale task(s) failed, {result['expired']} expired task(s) deleted")
