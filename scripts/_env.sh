# Shared by scripts/serve and scripts/test: a virtual environment with the requirements.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"

install_extra() {  # best effort: the tests that need it skip when it is missing
  if "$VENV/bin/python" -m pip install -q -r "$1"; then
    "$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  else
    echo "warning: $1 could not be installed here; the tests that need it will be skipped" >&2
  fi
}

ensure_venv() {  # ensure_venv REQUIREMENTS_FILE
  local req="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  # Reinstall only when the requirements changed.
  local stamp="$VENV/.installed-$(basename "$req")"
  local digest
  digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$req"
    # resemblyzer's speaker-encoder weights only: its torch dependency is not installed;
    # the project runs the encoder in numpy (synthesis/speaker/encoder.py).
    "$VENV/bin/python" -m pip install -q --no-deps resemblyzer==0.1.4
    if [ -n "${EXTRA_REQUIREMENTS:-}" ]; then
      install_extra "$EXTRA_REQUIREMENTS"
    fi
    echo "$digest" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

ensure_voices() {  # Kokoro's voicepacks (npm pack kokoro-js, sha256-checked) and clone profiles, once
  local dir="$VENV/share/ttsproject"
  local stamp="$dir/.voices-installed"
  local digest
  digest="$( (cat synthesis/engines/data/*.sha256; grep -h '^PROFILE_VERSION' synthesis/engines/cloning.py) \
    | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    return 0
  fi
  # Without npm this says how to add the voices and the server starts with what it has.
  python manage.py install_voices --if-missing
  if [ "$(find "$dir/kokoro-voices" -name '*.bin' 2>/dev/null | wc -l)" -ge 54 ]; then
    echo "$digest" > "$stamp"
  fi
}
