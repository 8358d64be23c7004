# Shared by scripts/serve and scripts/test: a virtual environment with the requirements.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"

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
    echo "$digest" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}
