# Sourced by scripts/*.sh: create .venv and install requirements_saas.txt when it changed.
# PYTHON picks the interpreter for a new .venv (default python3); 3.10 or newer.
# requirements_saas.txt holds exact pins for 3.11+ and, behind `python_version < "3.11"`
# markers, for 3.10 — pip chooses the right lines for the venv's Python.
PY="${PYTHON:-python3}"
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "❌ $PY not found: install Python 3.10+ or set PYTHON=/path/to/python3.x" >&2
  exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "❌ Python 3.10+ is required (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.x" >&2
  exit 1
fi
# A venv whose creation failed half-way (e.g. Debian/Ubuntu without python3-venv leaves
# .venv/bin/python but no pip) is rebuilt rather than used.
if [ -x .venv/bin/python ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  echo "⚠️  .venv is incomplete (no pip): recreating it" >&2
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv; then
    rm -rf .venv
    echo "❌ '$PY -m venv' failed. On Debian/Ubuntu: apt install python3-venv" \
         "(or python$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv)" >&2
    exit 1
  fi
fi
if [ -n "${PYTHON:-}" ]; then
  want_ver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  have_ver=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [ "$want_ver" != "$have_ver" ]; then
    echo "⚠️  .venv uses Python $have_ver, not $PYTHON ($want_ver): remove .venv to rebuild it" >&2
  fi
fi
# The stamp covers the requirements and the venv's Python version (the markers make
# what gets installed depend on both).
stamp=.venv/.requirements.sha256
want=$({ cat requirements_saas.txt; .venv/bin/python -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -r requirements_saas.txt
  echo "$want" > "$stamp"
fi
