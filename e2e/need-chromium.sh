#!/bin/sh
# Makes sure the browser tests have a Chromium: the one at $CHROMIUM_PATH, or
# `chromium` (or `chromium-browser`) on PATH, as e2e/lib/browser.js looks for
# it. When there is none, root installs Debian's chromium package through
# apt-get; anyone else is told the one command to run, and make stops.
#
# APT_GET replaces apt-get (the test of this script uses a stand-in).
set -eu

have_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then return 0; fi
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

if have_chromium; then exit 0; fi

apt_get=${APT_GET:-apt-get}
if [ "$(id -u)" != 0 ] || ! command -v "$apt_get" >/dev/null 2>&1; then
  echo "The browser tests need Chromium, which is not installed. Install it with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
  echo "(or set CHROMIUM_PATH to a Chromium binary), then run make test again." >&2
  exit 1
fi

echo "Installing Debian's chromium package for the browser tests (apt-get) ..."
DEBIAN_FRONTEND=noninteractive "$apt_get" update -qq
DEBIAN_FRONTEND=noninteractive "$apt_get" install -y -qq chromium
if ! have_chromium; then
  echo "apt-get installed chromium but it is not on PATH" >&2
  exit 1
fi
