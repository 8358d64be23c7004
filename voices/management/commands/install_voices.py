"""Install Kokoro's voicepacks (npm package kokoro-js, checked against the project's sums) and
measure the base-voice profiles cloning uses, once per Python environment."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from synthesis import services as synthesis_services
from synthesis.engines import voicepacks
from synthesis.engines.cloning import TimbreCloning
from synthesis.errors import TTSError


class Command(BaseCommand):
    help = "Install Kokoro's 54 voicepacks with npm (or from a kokoro-js tarball) and measure clone profiles"

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="tarball", help=f"a {voicepacks.PACKAGE}-{voicepacks.VERSION}.tgz "
                                                            "fetched elsewhere (no npm needed)")
        parser.add_argument("--if-missing", action="store_true",
                            help="do nothing when installed; without npm, say how to install and succeed")
        parser.add_argument("--no-profiles", action="store_true", help="skip measuring clone profiles")

    def handle(self, tarball=None, if_missing=False, no_profiles=False, **options):
        target = Path(settings.TTS_ENGINE_OPTIONS["kokoro"]["voicepacks_dir"])
        if tarball or not (if_missing and voicepacks.installed(target)):
            if not tarball and voicepacks.npm_command() is None:
                if not if_missing:
                    raise CommandError(voicepacks.HOW_TO_INSTALL)
                self.stderr.write(self.style.WARNING(voicepacks.HOW_TO_INSTALL))
                return
            try:
                count = voicepacks.install(target, Path(tarball) if tarball else None)
            except voicepacks.VoicepackError as e:
                raise CommandError(f"voicepacks not installed: {e}") from e
            self.stdout.write(self.style.SUCCESS(f"{count} Kokoro voicepacks checked and installed in {target}"))
        if not no_profiles:
            self.measure_profiles()

    def measure_profiles(self):
        """Each clone-capable embedded engine's base voices, measured into the shared profile directory."""
        import os

        store = Path(settings.TTS_PROFILES_DIR)
        settings.TTS_ORT_THREADS = os.cpu_count() or 1  # one measurement at a time: give it the machine
        measured = 0
        for name in settings.TTS_ENGINES:
            try:
                engine = synthesis_services.load_engine(name)
            except TTSError as e:
                raise CommandError(f"cannot load {name} to measure its voices: {e}") from e
            if not isinstance(engine, TimbreCloning):
                continue
            missing = [v.id for v in engine.voices() if not engine.has_profile(v.id)]
            for voice in missing:
                engine.base_profile(voice, store=store)
                measured += 1
                self.stdout.write(f"measured {engine.name}/{voice} ({measured})")
        if measured:
            self.stdout.write(self.style.SUCCESS(f"{measured} voice profile(s) measured into {store}"))
