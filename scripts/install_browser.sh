#!/bin/sh
# Installs what the browser tests (tests/browser, pytest -m browser) need on a fresh Debian machine, as root:
# Debian's chromium at /usr/bin/chromium. The tests drive it with Playwright's Python package through
# chromium.launch(executable_path="/usr/bin/chromium"), so `playwright install` (a browser download) is never run.
# The Python package comes with the test extra (pip install -e '.[test]'), axe-core with `npm install`.
# Idempotent and quiet: does nothing when chromium is already there.
set -eu

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install_browser.sh: /usr/bin/chromium is missing and installing it needs root (run with sudo)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
if [ ! -x /usr/bin/chromium ]; then
    echo "install_browser.sh: apt-get installed the chromium package but /usr/bin/chromium is not there" >&2
    exit 1
fi
