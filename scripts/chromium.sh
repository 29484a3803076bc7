#!/usr/bin/env bash
# Debian's Chromium for the browser tests: Playwright drives /usr/bin/chromium, never a downloaded browser.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
export DEBIAN_FRONTEND=noninteractive
echo "Installing Debian's chromium for the browser tests"
apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
/usr/bin/chromium --version
