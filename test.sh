#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (run as root, or with sudo):
#   bash test.sh [pytest arguments]
# Installs what is missing (Chromium, Node, pip packages, npm packages), builds the
# site, then runs every test: the Python package in CPython and in Pyodide, and the
# site in real headless Chromium.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then $SUDO apt-get update; apt_updated=1; fi
    $SUDO apt-get install -y --no-install-recommends "$@"
}

# the browser the tests drive (never a downloaded one), and fonts for its pages
if [ ! -x /usr/bin/chromium ]; then apt_install chromium fonts-liberation; fi
# Darknet (Debian's package) and a C compiler: the oracle of tests/test_format_darknet.py
if [ ! -e /usr/lib/darknet/libdarknet.so ]; then apt_install darknet; fi
if ! command -v cc >/dev/null; then apt_install gcc libc6-dev; fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi

PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
# Debian's own Python refuses system-wide pip installs (PEP 668); the tests need them
export PIP_BREAK_SYSTEM_PACKAGES=1
"$PYTHON" -m pip install --quiet --disable-pip-version-check -r requirements-test.txt

if [ ! -f node_modules/pyodide/pyodide.mjs ]; then npm ci --no-audit --no-fund; fi

"$PYTHON" build.py
"$PYTHON" -m pytest tests "$@"
