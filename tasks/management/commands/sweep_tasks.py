from django.core.management.base import BaseCommand

from tasks.services import sweep


class Command(BaseCommand):
    help = "Resume tasks whose runner stopped responding (or fail them after too many runs); delete old results"

    def handle(self, **options):
        result = sweep()
        self.stdout.write(f"{result['resumed']} stale task(s) resumed, {result['failed']} failed, "
                          f"{result['expired']} expired task(s) deleted")
