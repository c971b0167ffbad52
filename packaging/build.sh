#!/usr/bin/env bash
# Builds dist/ScalpDesk/ (one folder; SCALPDESK_ONEFILE=1 for one file) and reports its size.
# Usage, from the repository root: bash packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
if [ ! -x "$PY" ]; then python3 -m venv .venv; PY=.venv/bin/python; "$PY" -m pip install -q -e . ; fi
"$PY" -m pip install -q "pyinstaller>=6.5"
"$PY" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/scalpdesk.spec
if [ "${SCALPDESK_ONEFILE:-0}" != "1" ]; then "$PY" packaging/strip_bundle.py dist/ScalpDesk; fi
if [ "${SCALPDESK_ONEFILE:-0}" = "1" ]; then
  du -sh dist/ScalpDesk | sed 's/^/bundle size: /'
else
  du -sh dist/ScalpDesk | sed 's/^/bundle size (folder): /'
fi
