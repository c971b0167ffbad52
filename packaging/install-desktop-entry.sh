#!/usr/bin/env bash
# Installs a per-user desktop entry and icon for a built bundle (Linux).
# Usage: bash packaging/install-desktop-entry.sh [path/to/dist/ScalpDesk]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$(cd "${1:-$root/dist/ScalpDesk}" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
mkdir -p "$apps" "$icons"
cp "$root/resources/icons/scalpdesk.png" "$icons/scalpdesk.png"
sed -e "s|@EXEC@|$bundle/ScalpDesk|" -e "s|@ICON@|scalpdesk|" "$root/resources/scalpdesk.desktop" > "$apps/scalpdesk.desktop"
echo "installed $apps/scalpdesk.desktop"
